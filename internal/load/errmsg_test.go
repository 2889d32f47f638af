package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestErrorMessages(t *testing.T) {
	c := newClientStats()
	for port := range 3 {
		c.failErr(fmt.Errorf("read tcp 127.0.0.1:%d->127.0.0.1:80: read: connection reset by peer", 40000+port))
	}
	c.failErr(errors.New("EOF"))
	for i := range maxMessages + 5 {
		c.failErr(fmt.Errorf("odd %d", i))
	}
	got := topMessages(c.messages, TopMessages)
	if len(got) != TopMessages || got[1] != (ErrorMessage{Message: "read tcp 127.0.0.1:80: read: connection reset by peer", Count: 3}) {
		t.Fatalf("top %v", got)
	}
	if n := c.messages[otherMessages]; n != 7 || len(c.messages) != maxMessages+1 {
		t.Fatalf("%d distinct, %d other: want the bound kept", len(c.messages), n)
	}
}

// TestBodyThroughNetHTTP: the body goes with every request on the net/http
// path too (a Transport set, as https through a proxy would use).
func TestBodyThroughNetHTTP(t *testing.T) {
	bodies := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- r.Method + " " + string(b)
	}))
	defer srv.Close()
	l, err := New(Config{Target: srv.URL, Clients: 1, Requests: 3, Method: "POST", Body: []byte("hi"), Transport: &http.Transport{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Run(context.Background())
	if err != nil || r.Successes != 3 {
		t.Fatalf("%v %+v", err, r)
	}
	for range 3 {
		if got := <-bodies; got != "POST hi" {
			t.Fatalf("server got %q", got)
		}
	}
}
