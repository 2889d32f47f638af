# syntax=docker/dockerfile:1
# A static socklab in an empty image. Untested here: no container engine or
# builder was available where this was written (see README, Container).
#
#   docker build -t socklab .
#   docker run --rm -p 8000:8000 -p 9000:9000/udp socklab
#   docker run --rm -p 8080:8080 -p 9090:9090/udp socklab proxy --http 0.0.0.0:8080 --udp 0.0.0.0:9090 --upstream http://HOST:8000

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc in the final image.
# -trimpath and the VCS stamp keep "socklab version" meaningful.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/socklab ./cmd/socklab

FROM scratch
COPY --from=build /out/socklab /socklab
# nobody: serving and proxying need no privilege. ping and traceroute need
# CAP_NET_RAW (docker run --cap-add NET_RAW --user 0) or an unprivileged
# ICMP socket allowed by net.ipv4.ping_group_range.
USER 65534:65534
EXPOSE 8000/tcp 9000/udp 8080/tcp 9090/udp
ENTRYPOINT ["/socklab"]
# Inside a container, loopback is useless to clients: listen on all
# interfaces.
CMD ["serve", "--http", "0.0.0.0:8000", "--udp", "0.0.0.0:9000"]
