package cli

import (
	"errors"
	"fmt"

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
	{proxy.ErrResponseHeaderTooLarge, "--max-header-bytes"},
}

// withFlagHint adds the flag hint to the proxy's own error answers.
func withFlagHint(err error) error {
	for _, h := range proxyFlagHints {
		if errors.Is(err, h.kind) {
			return fmt.Errorf("%w (see %s)", err, h.flag)
		}
	}
	return err
}
