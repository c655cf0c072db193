# Multi-stage build: a static sandbox binary on an empty base image.
#   docker build -t provider-sandbox .
#   docker run -p 127.0.0.1:8080:8080 provider-sandbox   (loopback of the host only)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/sandbox ./cmd/sandbox
# The data directory, owned by the unprivileged user below: scratch has no
# shell to make it, and a new volume takes the image directory's owner.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM scratch
# CA roots let the InTarget verifier and callbacks reach HTTPS endpoints.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/sandbox /sandbox
COPY --from=build --chown=65532:65532 /out/data /data
# Inside the container the sandbox must accept connections from the host.
# Without SANDBOX_ADMIN_TOKEN it logs a WARN at start-up: publish the port on
# the host's loopback only, or set a token (docs/security.md).
ENV SANDBOX_ADDR=0.0.0.0:8080
# The admin API answers loopback names and IP addresses; in Docker Compose
# other services call it by the service name, so "sandbox" is allowed too
# (name the service sandbox, or override this with the service's name).
ENV SANDBOX_ALLOWED_HOSTS=sandbox
# What the sandbox keeps (the token signing key, the local CA for
# --https-addr) lives in /data: mount a volume there to keep it across
# containers, e.g. docker run -v sandbox-data:/data ...
ENV SANDBOX_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# An unprivileged numeric user: scratch has no /etc/passwd.
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
  CMD ["/sandbox", "health"]
ENTRYPOINT ["/sandbox"]
