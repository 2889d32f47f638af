package stack

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGroupFirstErrorStopsAll(t *testing.T) {
	g := NewGroup(context.Background())
	boom := errors.New("boom")
	stopped := make(chan struct{})
	g.Go(func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return nil
	})
	g.Go(func(context.Context) error { return boom })
	cleaned := false
	g.Defer(func() { cleaned = true })
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Wait = %v, want boom", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failing service did not stop the other")
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Wait returned before the other service stopped")
	}
	if !cleaned {
		t.Fatal("cleanup did not run")
	}
}

func TestGroupParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	g := NewGroup(ctx)
	g.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
	cancel()
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parent cancel did not stop the group")
	}
}
