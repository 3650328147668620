# syntax=docker/dockerfile:1
#
# The clusterlink image: one binary that is the link server (`clusterlink server`),
# the operator (`clusterlink operator`) and the CLI, on a distroless base, running as non-root.
#
#   docker build -t <registry>/clusterlink:0.1.0 .
#   docker push <registry>/clusterlink:0.1.0
#
# Then point deploy/operator, deploy/link-server or the Helm chart (image.repository) at it.
# Note: this image is not built by the project's tests or CI; the development machines have no
# Docker. crates/cli/tests/deploy.rs checks only that this file names the right package.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# rust-toolchain.toml pins the toolchain; rustup in the image installs that version on first use.
COPY . .
# The cache mounts keep the registry and build artefacts between builds; the binary is copied out
# of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p clusterlink \
    && cp target/release/clusterlink /clusterlink

# ---- run --------------------------------------------------------------------------------------
# glibc and libgcc (the binary is dynamically linked against them) plus CA certificates; no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
# OCI image annotations (https://github.com/opencontainers/image-spec/blob/main/annotations.md):
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg SOURCE=https://github.com/<org>/clusterlink -t <registry>/clusterlink:0.1.0 .
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://example.invalid/clusterlink
LABEL org.opencontainers.image.title="clusterlink" \
      org.opencontainers.image.description="Open-source Cluster Linking for any Kafka: the link server, the Kubernetes operator and the CLI in one binary" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /clusterlink /clusterlink
USER nonroot
# The link server's REST API (8090) and the operator's metrics and health endpoints (9090).
EXPOSE 8090 9090
ENTRYPOINT ["/clusterlink"]
