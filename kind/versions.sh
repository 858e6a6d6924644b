# The versions the cluster is built at, read from the Go modules that pin them. Sourced by the
# build and cluster scripts; sets k8s_version and coredns_version.
versions_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_version=$(sed -n 's/^\s*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$versions_dir/k8s/go.mod")
coredns_version=$(sed -n 's/^require github.com\/coredns\/coredns \(v[0-9.]*\).*/\1/p;s/^\s*github.com\/coredns\/coredns \(v[0-9.]*\)$/\1/p' "$versions_dir/images/coredns/go.mod" | head -1)
