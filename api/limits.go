package api

import (
	"sync"
	"sync/atomic"
	"time"
)

// limiter is a set of token buckets by name (a client IP, a key ID). Each bucket holds up
// to burst tokens and gains one every refill. It is built for the common case of nobody
// being limited: with no bucket in use, checking costs one atomic load and no lock.
type limiter struct {
	burst   float64
	refill  time.Duration
	off     bool
	mu      sync.Mutex
	buckets map[string]*bucket
	n       atomic.Int64 // len(buckets), readable without the lock
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter makes a limiter; burst <= 0 makes one that never limits.
func newLimiter(burst int, refill time.Duration) *limiter {
	return &limiter{burst: float64(burst), refill: refill, off: burst <= 0, buckets: map[string]*bucket{}}
}

// refilled brings a bucket up to now.
func (l *limiter) refilled(b *bucket, now time.Time) {
	if now.After(b.last) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.refill))
		b.last = now
	}
}

// wait is how long until a bucket holds a whole token again.
func (l *limiter) wait(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) * float64(l.refill))
}

// blocked reports whether name has no token left (without taking one), and how long
// until it has. It is for failure counting: a bucket exists only after a failure.
func (l *limiter) blocked(name string, now time.Time) (bool, time.Duration) {
	if l.off || l.n.Load() == 0 {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[name]
	if !ok {
		return false, 0
	}
	l.refilled(b, now)
	if b.tokens >= l.burst {
		// Forgiven: drop the bucket so that the lock-free fast path comes back.
		delete(l.buckets, name)
		l.n.Store(int64(len(l.buckets)))
	}
	if b.tokens >= 1 {
		return false, 0
	}
	return true, l.wait(b)
}

// fail takes a token from name's bucket (creating it full), recording one failure.
func (l *limiter) fail(name string, now time.Time) {
	if l.off {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(name, now)
	b.tokens = max(b.tokens-1, 0)
}

// take takes a token from name's bucket if there is one: false (and the wait) if not.
func (l *limiter) take(name string, now time.Time) (bool, time.Duration) {
	if l.off {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(name, now)
	if b.tokens < 1 {
		return false, l.wait(b)
	}
	b.tokens--
	return true, 0
}

// bucket returns name's bucket, refilled; full buckets of others are swept out once the
// map grows, so that memory stays bounded by the names active within a refill period.
func (l *limiter) bucket(name string, now time.Time) *bucket {
	b, ok := l.buckets[name]
	if !ok {
		if len(l.buckets) >= 4096 {
			for k, o := range l.buckets {
				l.refilled(o, now)
				if o.tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[name] = b
		l.n.Store(int64(len(l.buckets)))
	}
	l.refilled(b, now)
	return b
}
