package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// requestIDHeader carries a request's ID in and out: a proxy or client that
// sends one sees its own in our logs, and every answer names the ID to
// quote when something went wrong.
const requestIDHeader = "X-Request-ID"

type requestIDKey struct{}

// RequestID returns the ID of the request ctx belongs to, "" outside one.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDOf keeps an incoming ID of 1 to 64 characters of [A-Za-z0-9._-]
// and otherwise makes a new one. The ID goes into log lines as it is, so
// nothing else is let through: no newline, quote or escape sequence.
func requestIDOf(incoming string) string {
	if validRequestID(incoming) {
		return incoming
	}
	var b [8]byte
	rand.Read(b[:]) // never fails: the runtime aborts first
	return hex.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// observe is the outermost handler. It gives each request an ID (answered
// in X-Request-ID and carried in the context, so that every log line of the
// request names it), times it into the latency histogram by route pattern,
// and logs it at Debug: at Info the position reports would flood the log.
func (s *Server) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestIDOf(r.Header.Get(requestIDHeader))
		w.Header().Set(requestIDHeader, id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		// The mux sets r.Pattern on the request it is handed, this one, as
		// long as no handler between here and it copies the request.
		route, code, d := routeLabel(r.Pattern), sw.status(), time.Since(start)
		s.Metrics.observeRequest(route, r.Method, code, d)
		if s.Logger.Enabled(r.Context(), slog.LevelDebug) {
			s.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method),
				slog.String("route", route), slog.Int("status", code), slog.Duration("duration", d))
		}
	})
}

// statusWriter remembers the status of the answer. It passes Flush through
// for the live-update stream, and Unwrap gives http.ResponseController the
// connection's own writer for write deadlines.
type statusWriter struct {
	http.ResponseWriter
	code int
}

var _ http.Flusher = (*statusWriter)(nil) // for handlers that assert it rather than use ResponseController

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 { // a 1xx is only a preliminary answer
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes the answer to the client. http.ResponseController
// prefers it to Flush, so a handler learns of a write that failed.
func (w *statusWriter) FlushError() error {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for callers of http.Flusher.
func (w *statusWriter) Flush() { w.FlushError() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the answer's status: 200 when the handler wrote nothing, as
// net/http then sends.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// NewLogHandler wraps h so that a record logged with the context of a
// request carries the request's ID as request_id. Wrap the logger given to
// Server (Server.Handler does it too) and that of any package logging with
// a request's context. Under a logger's WithGroup the attribute is in the
// group, as every attribute added at logging time is.
func NewLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{h}
}

type logHandler struct{ next slog.Handler }

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone() // the caller's record may share its attributes
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{h.next.WithAttrs(as)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{h.next.WithGroup(name)}
}
