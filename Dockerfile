# The sidecar, the webhook and the operator: one build, three images (`--target sidecar`,
# `--target webhook`, `--target operator`), because they share the protocol code and dependencies
# but not what they need at run time (the sidecar needs iptables and its native addon; the others
# need neither and run unprivileged).
#
#   docker build --target sidecar -t mirrord-sidecar:0.1.0 .
#   docker build --target webhook -t mirrord-webhook:0.1.0 .
#   docker build --target operator -t mirrord-operator:0.1.0 .
#
# BASE is any Debian-based image with Node.js >= 20 and npm (the default is the official one);
# where no registry is reachable, build one locally and pass --build-arg BASE=… .
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json binding.gyp ./
COPY sidecar/native sidecar/native
COPY layer/native layer/native
COPY layer/syscall layer/syscall
COPY cli/native cli/native
# The install script builds the native addon and the layer with node-gyp, against this Node's
# own headers (Node images keep them under /usr/local/include/node) rather than downloaded ones.
ENV npm_config_nodedir=/usr/local
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common common
COPY protocol protocol
COPY sidecar sidecar
COPY layer layer
COPY intproxy intproxy
COPY cli cli
COPY webhook webhook
COPY operator operator
COPY test test
RUN npm run build && npm prune --omit=dev

FROM ${BASE} AS runtime
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
# What the sidecar, the webhook and the operator run, and nothing of the CLI's or the tests'.
COPY --from=build /app/dist/common dist/common
COPY --from=build /app/dist/protocol dist/protocol
COPY --from=build /app/dist/sidecar dist/sidecar
COPY --from=build /app/dist/webhook dist/webhook
COPY --from=build /app/dist/operator dist/operator
COPY --from=build /app/dist/vendor dist/vendor

FROM runtime AS sidecar
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/build/Release/sidecar_native.node build/Release/
# Root with only NET_ADMIN and NET_RAW (the webhook sets the capabilities): iptables needs them.
# A small young generation: see sidecar/memory.ts.
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/sidecar/main.js"]

FROM runtime AS webhook
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/webhook/main.js"]

FROM runtime AS operator
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/operator/main.js"]
