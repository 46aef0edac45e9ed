package ingest

import (
	"bufio"
	"errors"
	"io"
	"sync/atomic"
)

// bom is the UTF-8 byte order mark Excel and Windows tools put at the start of a file.
var bom = []byte{0xEF, 0xBB, 0xBF}

// errTooLarge is returned by limitReader once the input passes Options.MaxBytes; the
// decoders stop at it and the pipeline reports RuleTooLarge.
var errTooLarge = errors.New("input exceeds the size limit")

// limitReader counts bytes (for progress) and fails past max. Unlike io.LimitReader it
// says the input was too large instead of pretending it ended, so a truncated file is
// never taken for a complete one.
type limitReader struct {
	r   io.Reader
	max int64
	n   atomic.Int64 // read by the progress callback from another goroutine
}

func (l *limitReader) Read(p []byte) (int, error) {
	n := l.n.Load()
	if n > l.max {
		return 0, errTooLarge
	}
	if room := l.max - n + 1; int64(len(p)) > room {
		p = p[:room] // one byte past the limit is enough to know it was passed
	}
	k, err := l.r.Read(p)
	n = l.n.Add(int64(k))
	if n > l.max {
		return k - int(n-l.max), errTooLarge
	}
	return k, err
}

// readBufSize is the buffer over the input: large enough that CSV parsing is not
// dominated by read calls, small enough to keep per-file memory flat.
const readBufSize = 256 << 10

// openInput wraps a reader with the size limit and a buffer, and skips a UTF-8 BOM.
func openInput(r io.Reader, max int64) (*bufio.Reader, *limitReader, error) {
	lr := &limitReader{r: r, max: max}
	br := bufio.NewReaderSize(lr, readBufSize)
	head, err := br.Peek(len(bom))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return br, lr, err
	}
	if len(head) == len(bom) && string(head) == string(bom) {
		_, _ = br.Discard(len(bom))
	}
	return br, lr, nil
}

// peekHead returns up to SniffLen bytes without consuming them.
func peekHead(br *bufio.Reader) ([]byte, error) {
	head, err := br.Peek(SniffLen)
	if err == io.EOF || err == bufio.ErrBufferFull {
		err = nil
	}
	return head, err
}
