//go:build !unix

package udprelay

func (r *Relay) readUpstream(s *session) { r.readUpstreamPlain(s) }
