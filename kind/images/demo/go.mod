module mirrord.local/kind/demo

go 1.24.0
