package errs

import (
	"errors"
	"io/fs"
	"testing"
)

func TestInvalid(t *testing.T) {
	err := Invalidf("size %d: too big: %w", 9, fs.ErrInvalid)
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("%v does not match ErrInvalidConfig", err)
	}
	if !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("%v lost the error it wraps", err)
	}
	if got, want := err.Error(), "size 9: too big: invalid argument"; got != want {
		t.Errorf("message %q, want %q (the engine's own words)", got, want)
	}
	if Invalid(nil) != nil {
		t.Error("Invalid(nil) is not nil")
	}
	if Invalid(err) != err {
		t.Error("Invalid wrapped an already invalid error twice")
	}
	if errors.Is(errors.New("plain"), ErrInvalidConfig) {
		t.Error("a plain error matches ErrInvalidConfig")
	}
}
