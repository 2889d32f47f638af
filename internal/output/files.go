package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
)

// WriteFile creates path and fills it with render; it reports the first
// error of rendering, flushing and closing.
func WriteFile(path string, render func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = render(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// AppendQoSCSV appends res as one row to the CSV file at path, creating it
// (with the header) if it does not exist or is empty.
func AppendQoSCSV(path string, res *qos.Result) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("qos: csv: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		err = report.WriteQoSCSV(f, res, st.Size() == 0)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("qos: csv: write %s: %w", path, err)
	}
	return nil
}

// WriteQoSReport writes the HTML report to path, dated now.
func WriteQoSReport(path string, res *qos.Result) error {
	err := WriteFile(path, func(w io.Writer) error { return report.WriteQoSHTML(w, res, time.Now()) })
	if err != nil {
		return fmt.Errorf("qos: report: write %s: %w", path, err)
	}
	return nil
}

// QoSFiles are the CSV and HTML report of a qos run, opened before the test so a path that
// cannot be written fails at once rather than after the whole run.
type QoSFiles struct {
	csv, html         *os.File
	csvNew, htmlNew   bool // created by this run: removed if it yields nothing
	csvPath, htmlPath string
}

// OpenQoSFiles opens the CSV (appended to) and the HTML report (truncated)
// of a run; "" skips one.
func OpenQoSFiles(csvPath, htmlPath string) (*QoSFiles, error) {
	q := &QoSFiles{csvPath: csvPath, htmlPath: htmlPath}
	var err error
	if csvPath != "" {
		if q.csv, q.csvNew, err = openNew(csvPath, os.O_WRONLY|os.O_APPEND); err != nil {
			return nil, fmt.Errorf("qos: csv: %w", err)
		}
	}
	if htmlPath != "" {
		if q.html, q.htmlNew, err = openNew(htmlPath, os.O_WRONLY|os.O_TRUNC); err != nil {
			q.Discard()
			return nil, fmt.Errorf("qos: report: %w", err)
		}
	}
	return q, nil
}

// openNew opens path with flag, creating it if missing; created says so.
func openNew(path string, flag int) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, 0o644)
		created = err == nil
	}
	return f, created, err
}

// Write appends res to the CSV (with the header if the file is empty) and
// writes the HTML report.
func (q *QoSFiles) Write(res *qos.Result) error {
	var errs []error
	if q.csv != nil {
		st, err := q.csv.Stat()
		if err == nil {
			err = report.WriteQoSCSV(q.csv, res, st.Size() == 0)
		}
		if cerr := q.csv.Close(); err == nil {
			err = cerr
		}
		q.csv = nil
		if err != nil {
			errs = append(errs, fmt.Errorf("qos: csv: write %s: %w", q.csvPath, err))
		}
	}
	if q.html != nil {
		err := report.WriteQoSHTML(q.html, res, time.Now())
		if cerr := q.html.Close(); err == nil {
			err = cerr
		}
		q.html = nil
		if err != nil {
			errs = append(errs, fmt.Errorf("qos: report: write %s: %w", q.htmlPath, err))
		}
	}
	return errors.Join(errs...)
}

// Discard removes the files this run created, when it measured nothing.
func (q *QoSFiles) Discard() {
	q.Close()
	if q.csvNew {
		_ = os.Remove(q.csvPath)
	}
	if q.htmlNew {
		_ = os.Remove(q.htmlPath)
	}
}

// Close closes what is open.
func (q *QoSFiles) Close() {
	for _, f := range []**os.File{&q.csv, &q.html} {
		if *f != nil {
			_ = (*f).Close()
			*f = nil
		}
	}
}
