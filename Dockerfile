# The ivrflow production image: one binary that runs the webhook
# (`ivrflow serve`, the default command) or the worker (`ivrflow worker`).
# It is built with -tags noembed, so it carries neither the embedded Temporal
# server nor its Web UI (`ivrflow dev` is not in it): the stripped binary is
# about 32 MB, where the full one is about 200 MB. docs/PRODUCTION.md
# describes how to run it.
#
#   docker build -t ivrflow .
#   docker run --rm ivrflow help
#
# Needs BuildKit (the default builder since Docker 23) for the build cache
# mount below.

# The build runs on the builder's own platform and cross-compiles (the binary
# is pure Go), so a multi-platform build needs no emulation. The Go version
# is pinned to the one go.mod asks for: the golang images set
# GOTOOLCHAIN=local, so an older Go would refuse to build.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src

# Modules in a layer of their own, rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags noembed -trimpath -ldflags="-s -w" -o /out/ivrflow ./cmd/ivrflow


# The runtime cannot be a scratch or distroless-static image: say: prompts are
# rendered at run time by the espeak-ng program (package prompts), flows name
# IANA time zones for business hours (tzdata), and Graph, Entra ID and
# Temporal Cloud are reached over TLS (ca-certificates).
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates espeak-ng tzdata \
 && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid, so that volumes and file permissions can be
# prepared for it: /data must be writable by 10001, /flows readable.
RUN groupadd --system --gid 10001 ivrflow \
 && useradd --system --uid 10001 --gid ivrflow --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin ivrflow \
 && mkdir -p /flows /data \
 && chown ivrflow:ivrflow /data

COPY --from=build /out/ivrflow /usr/local/bin/ivrflow

# /flows holds the flow files and their prompt files (mount it, read-only).
# /data holds the prompt cache (/data/prompts) and downloaded recordings
# (/data/recordings); the webhook and the worker must share it.
ENV IVRFLOW_FLOWS=/flows \
    IVRFLOW_DATA=/data
VOLUME ["/data"]

USER 10001:10001
EXPOSE 8080

# No HEALTHCHECK here: the same image runs the worker, which listens on no
# port, so one check cannot fit both, and the image has no HTTP client. The
# webhook answers GET /healthz (alive) and GET /readyz (can take calls);
# docker-compose.yml checks /readyz with bash alone, and Kubernetes probes
# call it directly.
ENTRYPOINT ["ivrflow"]
CMD ["serve"]
