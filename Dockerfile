# Multi-stage build: a static sandbox binary on an empty base image.
#   docker build -t provider-sandbox .
#   docker run -p 8080:8080 provider-sandbox
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/sandbox ./cmd/sandbox

FROM scratch
# CA roots let the InTarget verifier and callbacks reach HTTPS endpoints.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/sandbox /sandbox
# Inside the container the sandbox must accept connections from the host.
ENV SANDBOX_ADDR=0.0.0.0:8080
EXPOSE 8080
# An unprivileged numeric user: scratch has no /etc/passwd.
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
  CMD ["/sandbox", "health"]
ENTRYPOINT ["/sandbox"]
