package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const chromium = "/usr/bin/chromium"

// TestQoSHTMLRendersInChromium loads the report in headless Chromium, takes
// a screenshot and checks it shows something: a blank or failed page would
// be one flat colour.
func TestQoSHTMLRendersInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("needs Debian's chromium package (/usr/bin/chromium absent): apt-get install -y chromium")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "qos_report.html")
	var b bytes.Buffer
	if err := WriteQoSHTML(&b, fixture(), genTime); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "--window-size=1200,1600", "file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 1000 || bounds.Dy() < 1000 {
		t.Fatalf("screenshot %v, want 1200×1600", bounds)
	}
	// Luminance variance over a grid of samples, and how many distinct
	// colours: a blank page has variance 0 and one colour.
	var n, sum, sumSq float64
	colours := map[[3]uint32]bool{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)
			n++
			sum += l
			sumSq += l * l
			if len(colours) < 1000 {
				colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			}
		}
	}
	mean := sum / n
	variance := sumSq/n - mean*mean
	if variance < 1e6 || len(colours) < 20 {
		t.Fatalf("screenshot looks blank: luminance variance %.0f, %d colours", variance, len(colours))
	}
	t.Logf("screenshot %v: luminance variance %.3g, %d+ colours", bounds, variance, len(colours))
	if os.Getenv("SOCKLAB_KEEP_SHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("SOCKLAB_KEEP_SHOT"), data, 0o644)
	}
}
