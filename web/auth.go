package web

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"zhufang"
	"zhufang/auth"
)

// Cookie names. The session cookie holds the session token; the login
// cookie holds the CSRF secret of the sign-in form, before any session.
const (
	sessionCookie = "zf_session"
	loginCookie   = "zf_login"
	langCookie    = "zf_lang"
)

// maxForm bounds a form body, as maxBody bounds a JSON one.
const maxForm = 64 << 10

// request is what authentication learned about a request.
type request struct {
	actor   *zhufang.Actor
	session *zhufang.Session
	cookie  bool // authenticated by cookie: unsafe methods need the CSRF token
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	rq, _ := ctx.Value(requestKey{}).(*request)
	if rq == nil {
		return &request{}
	}
	return rq
}

// clientAddress is the TCP peer's IP. Headers such as X-Forwarded-For are
// not trusted here: any client can send them.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sourceAddress is the client's IP as far as it can be trusted: the TCP
// peer, unless the peer is one of TrustedProxies, in which case
// X-Forwarded-For is read from the right (each proxy appends the address
// it was reached from) past the trusted proxies to the first address that
// is not one. Whatever the client wrote itself lies further left and is
// never reached. A header that does not parse gives the peer: the proxy's
// address, shared and so throttled with everyone behind it, rather than
// an address the client chose.
func (s *Server) sourceAddress(r *http.Request) string {
	peer := clientAddress(r)
	if len(s.TrustedProxies) == 0 || !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		addr = ip.Unmap().String()
		if !s.trusted(addr) {
			break
		}
	}
	return addr
}

// trusted reports whether addr is one of TrustedProxies.
func (s *Server) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes (10.0.0.5, 10.1.0.0/16, ::1) for Server.TrustedProxies.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return nil, zhufang.Errorf(zhufang.EINVALID, "%q is not an IP address or CIDR prefix", f)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// identify finds who is making the request: a device (bearer token zfd_…),
// a user by bearer session token (API clients), or a user by session
// cookie (the console). No credential gives a nil actor and no error; a
// credential that does not hold gives EUNAUTHORIZED.
func (s *Server) identify(r *http.Request) (*request, error) {
	addr := s.sourceAddress(r)
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			return nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "send the token as Authorization: Bearer <token>")
		}
		if strings.HasPrefix(token, "zfd_") {
			unit, err := s.Devices.DeviceUnit(r.Context(), token)
			if err != nil {
				return nil, err
			}
			return &request{actor: &zhufang.Actor{DeviceUnit: unit, Address: addr}}, nil
		}
		u, sess, err := s.Users.SessionUser(r.Context(), token)
		if err != nil {
			return nil, err
		}
		return &request{actor: &zhufang.Actor{User: u, Address: addr}, session: sess}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return &request{}, nil
	}
	u, sess, err := s.Users.SessionUser(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &request{actor: &zhufang.Actor{User: u, Address: addr}, session: sess, cookie: true}, nil
}

// unsafe reports whether a method changes state and so needs CSRF proof.
func unsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// checkCSRF requires, for a cookie-authenticated request that changes
// state, the session's CSRF secret in the X-CSRF-Token header or the csrf
// form field, and an Origin (when the browser sends one) of this host.
func checkCSRF(w http.ResponseWriter, r *http.Request, rq *request) error {
	if !rq.cookie || !unsafe(r.Method) {
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return zhufang.Errorf(zhufang.EFORBIDDEN, "request from another site refused")
		}
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return formError(err)
		}
		token = r.PostForm.Get("csrf")
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(rq.session.CSRF)) != 1 {
		return zhufang.Errorf(zhufang.EFORBIDDEN, "the form's security token is missing or stale; reload the page and try again")
	}
	return nil
}

// formError turns a form parsing error into a user-safe one.
func formError(err error) error {
	if _, ok := err.(*http.MaxBytesError); ok || strings.Contains(err.Error(), "too large") {
		return zhufang.Errorf(zhufang.EINVALID, "the form is larger than %d KB", maxForm>>10)
	}
	return zhufang.Errorf(zhufang.EINVALID, "the form could not be read")
}

// authAPI wraps an API handler that needs a credential: a user's session or
// a device token. The actor rides in the context to the store, which
// scopes and audits by it.
func (s *Server) authAPI(h handlerFunc) http.HandlerFunc {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		rq, err := s.identify(r)
		if err != nil {
			return err
		}
		if rq.actor == nil {
			return zhufang.Errorf(zhufang.EUNAUTHORIZED, "sign in first: POST /api/v1/session, then send Authorization: Bearer <token>")
		}
		if err := checkCSRF(w, r, rq); err != nil {
			return err
		}
		return h(w, r.WithContext(withRequest(r.Context(), rq)))
	})
}

// userAPI is authAPI for endpoints only people use.
func (s *Server) userAPI(h handlerFunc) http.HandlerFunc {
	return s.authAPI(func(w http.ResponseWriter, r *http.Request) error {
		if requestFrom(r.Context()).actor.User == nil {
			return zhufang.Errorf(zhufang.EFORBIDDEN, "a device token cannot be used here; sign in as a user")
		}
		return h(w, r)
	})
}

// authPage wraps a console page: without a valid session it sends the
// browser to the sign-in page, and a form post needs the CSRF token. Errors
// render as a page in the user's language, with the user's header.
func (s *Server) authPage(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, err := s.identify(r)
		if err == nil && (rq.actor == nil || rq.actor.User == nil) {
			err = zhufang.Errorf(zhufang.EUNAUTHORIZED, "please sign in")
		}
		if err != nil {
			if zhufang.ErrorCode(err) == zhufang.EUNAUTHORIZED {
				clearCookie(w, sessionCookie)
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
			}
			s.page(func(http.ResponseWriter, *http.Request) error { return err })(w, r)
			return
		}
		r = r.WithContext(withRequest(r.Context(), rq))
		s.page(func(w http.ResponseWriter, r *http.Request) error {
			if unsafe(r.Method) {
				// Read the form here, bounded, whether the CSRF token comes
				// in it or in the header: handlers read r.PostForm.
				r.Body = http.MaxBytesReader(w, r.Body, maxForm)
				if err := r.ParseForm(); err != nil {
					return formError(err)
				}
			}
			if err := checkCSRF(w, r, rq); err != nil {
				return err
			}
			return h(w, r)
		})(w, r)
	}
}

func withRequest(ctx context.Context, rq *request) context.Context {
	ctx = context.WithValue(ctx, requestKey{}, rq)
	return zhufang.NewContextWithActor(ctx, rq.actor)
}

// setSessionCookie hands the browser its session: HTTP-only (no script
// reads it), SameSite=Strict (no other site sends it), Secure over TLS.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.SecureCookies || r.TLS != nil})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// limiter counts sign-in attempts per client address in a sliding window,
// whatever their outcome, in memory: it keeps a flood from one address from
// costing a password hash each. The throttle that counts failures, per name
// and address, per address and per name, is the store's
// (zhufang.SignInWait), shared by every node.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	clock  zhufang.Clock
	hits   map[string][]time.Time
}

// Sign-in attempts allowed per address per window.
const (
	loginWindow      = time.Minute
	loginsPerAddress = 20
)

func newLimiter(clock zhufang.Clock, max int, window time.Duration) *limiter {
	return &limiter{clock: clock, max: max, window: window, hits: map[string][]time.Time{}}
}

// allow records an attempt and reports whether it is within the limit.
func (l *limiter) allow(addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	hs := l.hits[addr]
	i := 0
	for i < len(hs) && now.Sub(hs[i]) >= l.window {
		i++
	}
	hs = hs[i:]
	if len(hs) >= l.max {
		l.hits[addr] = hs
		wait := l.window - now.Sub(hs[0])
		return zhufang.Errorf(zhufang.ETOOMANY, "too many sign-in attempts from this address; wait %d seconds", int(wait.Seconds())+1)
	}
	l.hits[addr] = append(hs, now)
	if len(l.hits) > 100000 { // a flood of addresses: forget the quiet ones
		for a, h := range l.hits {
			if len(h) == 0 || now.Sub(h[len(h)-1]) >= l.window {
				delete(l.hits, a)
			}
		}
	}
	return nil
}

// signIn checks a name and password and starts a session; shared by the
// sign-in form and the API.
func (s *Server) signIn(r *http.Request, username, password string) (*zhufang.User, string, *zhufang.Session, error) {
	addr := s.sourceAddress(r)
	if err := s.logins.allow(addr); err != nil {
		return nil, "", nil, err
	}
	if len(username) > 64 || len(password) > 256 {
		return nil, "", nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "wrong username or password")
	}
	ctx := zhufang.NewContextWithActor(r.Context(), &zhufang.Actor{Address: addr})
	u, err := s.Users.Authenticate(ctx, strings.TrimSpace(username), password)
	if err != nil {
		return nil, "", nil, err
	}
	token, sess, err := s.Users.CreateSession(ctx, u.ID, addr)
	if zhufang.ErrorCode(err) == zhufang.EFORBIDDEN {
		// Disabled since the password was checked: answered as the store
		// answers a disabled account's password, like a wrong one.
		return nil, "", nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "wrong username or password")
	}
	if err != nil {
		return nil, "", nil, err
	}
	return u, token, sess, nil
}

// sessionRequest is the body of POST /api/v1/session.
type sessionRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// createSession signs an API client in: the token goes in the
// Authorization header of later requests.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var req sessionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, token, sess, err := s.signIn(r, req.Username, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "csrf": sess.CSRF, "user": u,
		"expires_idle_seconds": int(zhufang.IdleTimeout.Seconds()), "expires_max_seconds": int(zhufang.MaxSessionAge.Seconds())})
	return nil
}

// deleteSession signs out; with ?everywhere=1 every session of the user.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.endSession(r, r.URL.Query().Get("everywhere") == "1"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) endSession(r *http.Request, everywhere bool) error {
	rq := requestFrom(r.Context())
	if everywhere {
		return s.Users.DeleteUserSessions(r.Context(), rq.actor.User.ID)
	}
	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if c, err := r.Cookie(sessionCookie); err == nil && rq.cookie {
		token = c.Value
	}
	return s.Users.DeleteSession(r.Context(), token)
}

// loginPage shows the sign-in form with a fresh CSRF secret in a cookie
// and the form (double submit: another site can set neither).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, message string) error {
	secret, err := auth.NewToken()
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot make a token", err)
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: secret, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.SecureCookies || r.TLS != nil})
	lang := loginLang(r)
	next := safeNext(r.FormValue("next"))
	w.WriteHeader(status)
	return s.render(w, lang, "login", &pageData{Title: "login.title", Lang: lang, CSRF: secret,
		Data: map[string]string{"Next": next, "Message": message, "Username": r.PostFormValue("username")}})
}

// loginLang is the sign-in page's language: chosen with ?lang= and kept in
// a cookie, Chinese by default.
func loginLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		return l
	}
	if l := r.PostFormValue("lang"); l == "en" || l == "zh" {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh") {
		return c.Value
	}
	return "zh"
}

// safeNext keeps a redirect after sign-in on this site: a plain path, no
// scheme, no host, no control character or backslash that a browser would
// read differently from the server.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// login takes the sign-in form.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		return s.renderLogin(w, r, http.StatusForbidden, "login.stale")
	}
	if l := r.PostForm.Get("lang"); l == "en" || l == "zh" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", SameSite: http.SameSiteStrictMode})
	}
	_, token, _, err := s.signIn(r, r.PostForm.Get("username"), r.PostForm.Get("password"))
	if err != nil {
		code := zhufang.ErrorCode(err)
		s.logError(r, code, err)
		msg := "login.wrong"
		switch code {
		case zhufang.ETOOMANY:
			msg = "login.throttled"
		case zhufang.EUNAUTHORIZED:
		default:
			return err
		}
		return s.renderLogin(w, r, statusOf[code], msg)
	}
	clearCookie(w, loginCookie)
	s.setSessionCookie(w, r, token)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// logout ends this session, or with everywhere=1 every session of the user.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.endSession(r, r.PostForm.Get("everywhere") == "1"); err != nil {
		return err
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
