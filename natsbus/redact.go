package natsbus

import (
	"net/url"
	"strings"
)

// redact returns urls (comma-separated, as the NATS client takes them) fit
// for a log, with user information masked, and the secrets found in them:
// passwords, and tokens given in the user position.
func redact(urls string) (shown string, secrets []string, err error) {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			return "", nil, err
		}
		if u.User == nil {
			parts[i] = u.String()
			continue
		}
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		} else {
			secrets = append(secrets, u.User.Username())
		}
		u.User = url.User("xxxxx")
		parts[i] = u.String()
	}
	return strings.Join(parts, ","), secrets, nil
}

// redactedError masks secrets in the text of an error from the client, in
// case a message of a library we do not control ever quotes them. It keeps
// the error itself for errors.Is.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	s := e.err.Error()
	for _, secret := range e.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	return s
}

func (e *redactedError) Unwrap() error { return e.err }
