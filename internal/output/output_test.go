package output

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/qos"
)

func TestAppendQoSCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qos_result.csv")
	for range 3 {
		if err := AppendQoSCSV(path, csvFixture()); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0][0] != "time" || recs[1][0] == "time" || recs[3][3] != "1000" {
		t.Fatalf("want header + 3 rows, got %d records: %v", len(recs), recs)
	}
	if err := AppendQoSCSV(filepath.Join(t.TempDir(), "no", "such", "dir.csv"), csvFixture()); err == nil ||
		!strings.Contains(err.Error(), "csv") {
		t.Fatalf("missing directory: err %v", err)
	}
}

// csvFixture is a small UDP result for the CSV appender.
func csvFixture() *qos.Result {
	return &qos.Result{Target: "127.0.0.1:9090", Protocol: "udp", Start: time.Unix(1700000000, 0),
		Total: qos.StreamResult{Sent: 1000, Received: 950, Lost: 50}}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(load.Progress{Done: 50, Requests: 100, Errors: 2, Elapsed: 1e9}, 10)
	if !strings.HasPrefix(got, "[#####-----]  50%") || !strings.Contains(got, "50 req  2 err  50 req/s") {
		t.Fatalf("%q", got)
	}
}
