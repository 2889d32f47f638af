package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Error kinds, the keys of Result.Errors.
const (
	KindRefused     = "refused"     // nothing listening (TCP RST to SYN, ICMP port unreachable)
	KindReset       = "reset"       // connection reset or broken pipe mid-exchange
	KindTimeout     = "timeout"     // no answer within Config.Timeout
	KindDNS         = "dns"         // name did not resolve
	KindTLS         = "tls"         // handshake or certificate failure
	KindEOF         = "eof"         // peer closed the connection before a full response
	KindProtocol    = "protocol"    // a response that is not valid HTTP/1.x
	KindUnreachable = "unreachable" // no route to host or network
	KindCanceled    = "canceled"    // the run was stopped while the request was in flight
	KindLost        = "lost"        // UDP: probe sent, no reply by the end of the run
	// KindReflectorCap: UDP probe dropped by the reflector's rate cap (from
	// its end-of-run report): the instrument's limit, not the path's loss.
	KindReflectorCap = "reflector_rate_cap"
	KindStatus4xx    = "http_4xx" // response with a client-error status
	KindStatus5xx    = "http_5xx" // response with a server-error status
	KindOther        = "other"
)

// ErrorKind sorts a transport error into one of the kinds above, so a report
// can say "120 refused, 3 timeout" rather than list raw messages.
func ErrorKind(err error) string {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrProtocol):
		return KindProtocol
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return KindReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return KindUnreachable
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.As(err, &recErr), errors.As(err, &alert), errors.As(err, &certErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invErr):
		return KindTLS
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindEOF
	}
	return KindOther
}
