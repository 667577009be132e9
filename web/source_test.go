package web

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestSourceAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.5, 10.1.0.0/16,::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies configured: the header is ignored", nil, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a peer that is not a trusted proxy: the header is ignored", proxies, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"through the proxy", proxies, "10.0.0.5:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own claim left of what the proxy added", proxies, "10.0.0.5:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", proxies, "10.0.0.5:5000", []string{"1.2.3.4, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"header lines read in order", proxies, "10.0.0.5:5000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"IPv6 loopback proxy, mapped client", proxies, "[::1]:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"no header from a trusted proxy", proxies, "10.0.0.5:5000", nil, "10.0.0.5"},
		{"every hop trusted", proxies, "10.0.0.5:5000", []string{"10.1.0.9"}, "10.1.0.9"},
		{"garbage in the header: the proxy's own address", proxies, "10.0.0.5:5000", []string{"198.51.100.1, not-an-ip"}, "10.0.0.5"},
		{"empty entry", proxies, "10.0.0.5:5000", []string{"198.51.100.1,"}, "10.0.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{TrustedProxies: tt.trusted}
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = tt.peer
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := s.sourceAddress(r); got != tt.want {
				t.Errorf("sourceAddress = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.5 ,10.1.2.3/16,, ::ffff:192.0.2.1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.5/32", "10.1.0.0/16", "192.0.2.1/32", "fd00::/8"}
	var gotS []string
	for _, p := range got {
		gotS = append(gotS, p.String())
	}
	if strings.Join(gotS, " ") != strings.Join(want, " ") {
		t.Errorf("ParseTrustedProxies = %v, want %v", gotS, want)
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q): no error", bad)
		}
	}
}

// FuzzForwardedFor: whatever X-Forwarded-For a client sends, the source
// address is the peer or an IP address from the header, and from a peer
// that is not a trusted proxy always the peer.
func FuzzForwardedFor(f *testing.F) {
	for _, seed := range []string{"198.51.100.1", "1.2.3.4, 198.51.100.1, 10.1.2.3", "", ",", "::ffff:1.2.3.4", "fe80::1%eth0", "x, 10.0.0.5"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	proxies, _ := ParseTrustedProxies("10.0.0.5,10.1.0.0/16")
	f.Fuzz(func(t *testing.T, xff string, viaProxy bool) {
		s := &Server{TrustedProxies: proxies}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "203.0.113.9:5000"
		if viaProxy {
			r.RemoteAddr = "10.0.0.5:5000"
		}
		r.Header.Set("X-Forwarded-For", xff)
		got := s.sourceAddress(r)
		peer := clientAddress(r)
		if !viaProxy && got != peer {
			t.Fatalf("from an untrusted peer the source is %q, want the peer %q", got, peer)
		}
		if got == peer {
			return
		}
		for _, hop := range strings.Split(xff, ",") {
			if ip, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && ip.Unmap().String() == got {
				return
			}
		}
		t.Fatalf("source %q is neither the peer nor an address of the header %q", got, xff)
	})
}
