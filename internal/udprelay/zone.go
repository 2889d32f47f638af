//go:build linux

package udprelay

import (
	"net"
	"strconv"
	"sync"
)

// zones caches interface index ↔ name for link-local IPv6 clients, so
// their datagrams do not cost an interface lookup each.
var zones sync.Map // uint32 → string and string → uint32

func zoneName(index uint32) string {
	if v, ok := zones.Load(index); ok {
		return v.(string)
	}
	name := strconv.FormatUint(uint64(index), 10)
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		name = ifi.Name
	}
	zones.Store(index, name)
	zones.Store(name, index)
	return name
}

func zoneIndex(zone string) uint32 {
	if v, ok := zones.Load(zone); ok {
		return v.(uint32)
	}
	var index uint32
	if ifi, err := net.InterfaceByName(zone); err == nil {
		index = uint32(ifi.Index)
	} else if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		index = uint32(n)
	}
	zones.Store(zone, index)
	return index
}
