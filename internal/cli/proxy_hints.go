package cli

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/socklab/socklab/internal/proxy"
)

// proxyFlagHints names the flag that governs each refusal the proxy
// answers itself; the engine speaks in its own terms.
var proxyFlagHints = []struct {
	kind error
	flag string
}{
	{proxy.ErrClientRefused, "--allow"},
	{proxy.ErrPortRefused, "--connect-ports"},
	{proxy.ErrDestinationRefused, "--allow-dest"},
	{proxy.ErrUpstreamTimeout, "--upstream-timeout"},
}

// proxyErrorHandler adds the flag hint to the proxy's own error answers
// and writes them as the proxy would. *p is the proxy, set once New
// returns (no request arrives before that).
func proxyErrorHandler(p **proxy.Proxy) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, _ *http.Request, err error) {
		(*p).WriteError(w, withFlagHint(err))
	}
}

func withFlagHint(err error) error {
	for _, h := range proxyFlagHints {
		if errors.Is(err, h.kind) {
			return fmt.Errorf("%w (see %s)", err, h.flag)
		}
	}
	return err
}
