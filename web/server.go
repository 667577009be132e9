// Package web serves zhufang over HTTP: the JSON API for devices and other
// systems, health checks for operators, and the server-rendered pages.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"zhufang"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Server holds what the handlers need. Every exported field is set by
// cmd/zhufang.
type Server struct {
	Org         zhufang.OrgService
	Locator     zhufang.Locator
	Incidents   zhufang.IncidentService
	Compliance  zhufang.ComplianceService
	Assignments zhufang.AssignmentService
	Devices     zhufang.DeviceService
	Units       zhufang.UnitService
	Users       zhufang.UserService
	Audit       zhufang.AuditService
	EventLog    zhufang.EventLog
	Fleet       zhufang.Fleet
	Events      zhufang.EventService
	Intake      *zhufang.Intake
	// Posture plans the hour's rapid-response posts; nil answers 503.
	Posture zhufang.PostureService
	// Ready reports whether the database answers and is migrated.
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// SecureCookies marks cookies Secure even on plain HTTP, for a server
	// behind a TLS-terminating proxy. Over TLS they always are.
	SecureCookies bool
	// Metrics, when set, counts requests and serves GET /metrics.
	Metrics *Metrics
	// MetricsToken lets a scraper from another host read /metrics with
	// Authorization: Bearer <token>; empty, only loopback may.
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client: the address sign-ins are throttled by and the audit
	// trail records. Empty, the header is ignored and the TCP peer is the
	// client. /metrics never trusts the header.
	TrustedProxies []netip.Prefix

	// Tiles, when set, draws a base map under the map's SVG from a tile
	// server (--tiles); its origin is added to the images the CSP allows.
	Tiles *TileSource

	tmpl     map[string]*template.Template // per language
	catalogs *catalogs
	hub      hub
	refs     refs
	logins   *limiter

	unitMu   sync.Mutex
	unitByID map[int64]*zhufang.Unit
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() (http.Handler, error) {
	cat, err := loadCatalogs()
	if err != nil {
		return nil, err
	}
	s.catalogs = cat
	s.tmpl = map[string]*template.Template{}
	for _, lang := range zhufang.Languages {
		t, err := template.New("").Funcs(templateFuncs).Funcs(cat.funcs(lang)).ParseFS(templateFiles, "templates/*.html")
		if err != nil {
			return nil, err
		}
		s.tmpl[lang] = t
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.Logger = slog.New(NewLogHandler(s.Logger.Handler())) // every line of a request names its ID
	if s.Metrics != nil {
		if err := s.Metrics.attach(s); err != nil {
			return nil, err
		}
	}
	s.logins = newLimiter(s.clock(), loginsPerAddress, loginWindow)
	s.hub.closing = make(chan struct{})
	return s.routes(), nil
}

// clock is the intake's clock, or the system's for a server without intake.
func (s *Server) clock() zhufang.Clock {
	if s.Intake != nil && s.Intake.Clock != nil {
		return s.Intake.Clock
	}
	return zhufang.SystemClock{}
}

// Start runs the live-update hub until ctx ends.
func (s *Server) Start(ctx context.Context) {
	if s.Events != nil {
		go s.runHub(ctx)
	}
}

// handlerFunc is a handler that returns its error to one renderer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// statusOf maps error codes to HTTP statuses, in this one table.
var statusOf = map[string]int{
	zhufang.EINVALID:      http.StatusBadRequest,
	zhufang.ENOTFOUND:     http.StatusNotFound,
	zhufang.ECONFLICT:     http.StatusConflict,
	zhufang.EUNAUTHORIZED: http.StatusUnauthorized,
	zhufang.EFORBIDDEN:    http.StatusForbidden,
	zhufang.ETOOMANY:      http.StatusTooManyRequests,
	zhufang.EUNAVAILABLE:  http.StatusServiceUnavailable,
	zhufang.EINTERNAL:     http.StatusInternalServerError,
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// api adapts a JSON handler: its error becomes a JSON error body.
func (s *Server) api(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code := zhufang.ErrorCode(err)
			s.logError(r, code, err)
			var body errorBody
			body.Error.Code, body.Error.Message = code, zhufang.ErrorMessage(err)
			writeJSON(w, statusOf[code], body)
		}
	}
}

// page adapts an HTML handler: its error becomes an error page in the
// user's language.
func (s *Server) page(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code := zhufang.ErrorCode(err)
			s.logError(r, code, err)
			p := s.newPage(r, "error.title", "", map[string]string{"Code": code, "Message": zhufang.ErrorMessage(err)})
			if p.User == nil {
				p.Lang = loginLang(r)
			}
			var b bytes.Buffer
			if err := s.tmpl[p.Lang].ExecuteTemplate(&b, "error", p); err != nil {
				s.Logger.Error("error page", "err", err)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(statusOf[code])
			b.WriteTo(w)
		}
	}
}

// logError logs a failed request with its context, so that the line
// carries the request's ID.
func (s *Server) logError(r *http.Request, code string, err error) {
	if clientGone(r, err) {
		// A browser left the page or closed the tab mid-answer: routine,
		// and nothing here went wrong.
		s.Logger.Log(r.Context(), slog.LevelDebug, "request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	level := slog.LevelInfo
	if code == zhufang.EINTERNAL || code == zhufang.EUNAVAILABLE {
		level = slog.LevelError
	}
	s.Logger.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
}

// clientGone reports whether err came of the client going away: the
// request's context ended under a read (net/http ends it when the
// connection closes), or the answer met a closed connection.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// NewHTTPServer wraps h with the timeouts every public server needs, so a
// slow client cannot hold connections open.
func NewHTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Listen takes the TCP address addr, so that a server whose port is busy
// finds out before it starts anything else.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot listen on "+addr, err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully within
// 10 s; onShutdown, if set, runs as shutdown starts (it ends the live
// streams, which never go idle by themselves). logArgs are logged with the
// address served. It closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, onShutdown func(), logger *slog.Logger, logArgs ...any) error {
	hs := NewHTTPServer(ln.Addr().String(), h, logger)
	if onShutdown != nil {
		hs.RegisterOnShutdown(onShutdown)
	}
	logger.Info("serving", append([]any{"url", "http://" + ln.Addr().String() + "/"}, logArgs...)...)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// groupDigits writes a count with thousands separators, as 115,893.
func groupDigits(v any) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// errNotReady is what /readyz reports when it has no check.
var errNotReady = errors.New("no readiness check")
