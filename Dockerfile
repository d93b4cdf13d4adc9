# Multi-stage build: a static iohub binary on a minimal base image.
#   docker build -t iohub .
#   docker run -p 3000:3000 -e IOHUB_AUTH_JWT_SECRET=change-me -v iohub-data:/data iohub
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=0.1.0
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iohub ./cmd/iohub

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iohub /usr/local/bin/iohub
ENV IOHUB_LISTEN=:3000 IOHUB_STORE_PATH=/data
VOLUME /data
EXPOSE 3000
USER nonroot
ENTRYPOINT ["/usr/local/bin/iohub"]
CMD ["serve"]
