# syntax=docker/dockerfile:1.7
# Image of `mono`, the MONO instance: `mono serve`, `mono migrate`, `mono export`, `mono import`.
# Build from the repository root:  docker build -t ghcr.io/coopenomics/mono:<version> .

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p mono-instance --bin mono \
    && install -D -m 0755 target/release/mono /out/mono

# Distroless: glibc and CA certificates, no shell, no package manager, user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/mono /usr/local/bin/mono
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mono"]
CMD ["serve"]
