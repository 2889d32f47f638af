package udpecho

import "container/list"

// lru is a map bounded to max entries that forgets the least recently used
// one when full, so spoofed sources cannot grow the server's memory.
// Not safe for concurrent use: the serving loop owns it.
type lru[K comparable, V any] struct {
	max   int
	items map[K]*list.Element
	order *list.List // front: most recent
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*list.Element), order: list.New()}
}

// get returns a pointer to the value for k, creating it (with init) when
// missing; the pointer is valid until the next call.
func (c *lru[K, V]) get(k K, init func() V) *V {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return &e.Value.(*lruEntry[K, V]).val
	}
	if c.order.Len() >= c.max {
		if old := c.order.Back(); old != nil {
			delete(c.items, old.Value.(*lruEntry[K, V]).key)
			c.order.Remove(old)
		}
	}
	ent := &lruEntry[K, V]{key: k, val: init()}
	c.items[k] = c.order.PushFront(ent)
	return &ent.val
}

func (c *lru[K, V]) len() int { return c.order.Len() }
