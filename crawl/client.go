package crawl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/auditor-dev/auditor/internal/pathglob"
)

// registryClient is the one puller (and the settings) used for a registry
// host by every worker of a crawl.
type registryClient struct {
	host      string
	puller    *remote.Puller
	nameOpts  []name.Option
	platforms []v1.Platform
	cfg       Registry
	layerSem  *slots
	fetch     *fetchTransport
	secrets   *secrets // never shown in messages
	maxPages  int      // of one catalog or tag list
}

// client returns the shared client for host, making it on first use.
func (c *Crawler) client(host string) (*registryClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc, ok := c.pullers[host]; ok {
		return rc, nil
	}
	cfg := c.opts.Registries[host]
	rc := &registryClient{host: host, cfg: cfg, secrets: &c.secrets, maxPages: c.opts.Limits.listPages()}
	if cfg.Insecure {
		rc.nameOpts = append(rc.nameOpts, name.Insecure)
	}
	specs := cfg.Platforms
	if len(specs) == 0 {
		specs = c.opts.Platforms
	}
	var err error
	if rc.platforms, err = parsePlatforms(specs); err != nil {
		return nil, err
	}
	jobs := cfg.Jobs
	if jobs == 0 {
		jobs = c.opts.Jobs
	}
	rc.layerSem = newSlots(jobs)

	base := c.opts.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	if cfg.CAFile != "" {
		t, err := withCA(base, cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", host, err)
		}
		base = t
	}
	rc.fetch = c.fetchTransport(host, cfg, &schemeGuard{next: base, insecure: cfg.Insecure})
	opts := []remote.Option{
		remote.WithTransport(rc.fetch),
		remote.WithUserAgent("auditor"),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		// go-containerregistry retries at once; fetchTransport waits in
		// between, stopping when the scan is cancelled.
		remote.WithRetryBackoff(remote.Backoff{Steps: c.opts.Retry.Attempts}),
		remote.WithRetryPredicate(transient),
	}
	if c.opts.PageSize > 0 {
		opts = append(opts, remote.WithPageSize(c.opts.PageSize))
	}
	auth := cfg.Auth
	if auth != nil {
		opts = append(opts, remote.WithAuth(auth))
	} else {
		kc := c.opts.Keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		opts = append(opts, remote.WithAuthFromKeychain(kc))
		if reg, err := name.NewRegistry(host, rc.nameOpts...); err == nil {
			auth, _ = kc.Resolve(reg) // only to know its secrets: the puller resolves its own
		}
	}
	// Whatever the credentials, no message shows them.
	if auth != nil {
		if a, err := auth.Authorization(); err == nil {
			c.secrets.addAuthConfig(a)
		}
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	rc.puller = p
	c.pullers[host] = rc
	return rc, nil
}

// redact renders err without any secret this client knows.
func (rc *registryClient) redact(err error) string { return rc.secrets.redact(err.Error()) }

// repository names repo of this registry; a name the distribution spec
// does not allow (control characters, upper case, ..) is an error naming it
// escaped, and is never requested.
func (rc *registryClient) repository(repo string) (name.Repository, error) {
	if !repoGrammar.MatchString(repo) {
		return name.Repository{}, fmt.Errorf("repository %q is not a valid repository name (the distribution spec allows %s): not requested", repo, repoGrammar)
	}
	return name.NewRepository(rc.host+"/"+repo, append([]name.Option{name.StrictValidation}, rc.nameOpts...)...)
}

// The distribution spec's grammar of repository names and tags.
var (
	repoGrammar = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagGrammar  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// refNameGrammar is the image-spec's for org.opencontainers.image.ref.name.
	refNameGrammar = regexp.MustCompile(`^[A-Za-z0-9]+(([-._:@+]|--)[A-Za-z0-9]+)*(/[A-Za-z0-9]+(([-._:@+]|--)[A-Za-z0-9]+)*)*$`)
)

// checkTag returns an error naming tag (escaped) when the distribution spec
// does not allow it: such a tag is reported, never requested.
func checkTag(tag string) error {
	if !tagGrammar.MatchString(tag) {
		return fmt.Errorf("tag %q is not a valid tag (the distribution spec allows %s): not requested", tag, tagGrammar)
	}
	return nil
}

// checkRefName reports an OCI layout's ref name that the image spec's
// grammar does not allow (control characters, bidi controls, spaces):
// such a name is reported, never recorded.
func checkRefName(ref string) error {
	if len(ref) > 4096 || !refNameGrammar.MatchString(ref) {
		return fmt.Errorf("ref name %q is not a valid ref name (the image spec allows %s): not recorded", ref, refNameGrammar)
	}
	return nil
}

// checkRepoTag reports a docker archive's RepoTags entry that is not a
// valid repository:tag (control characters, bidi controls, spaces): such a
// name is reported, never recorded.
func checkRepoTag(tag string) error {
	_, err := name.NewTag(tag)
	if err != nil || strings.ContainsFunc(tag, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Errorf("RepoTags entry %q is not a valid repository:tag: not recorded", tag)
	}
	return nil
}

// shown is a name from a registry or an image as a scan error records it:
// as it is when it is printable text, else quoted with Go escapes.
func shown(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// errNoRepository is the answer of tags for a repository the registry does
// not know (404 NAME_UNKNOWN), with an empty list: it has no tags.
var errNoRepository = errors.New("repository not found")

// tags lists repo's tags page by page, calling each (if not nil) for every
// tag as it comes. It returns the whole list; an empty one and
// errNoRepository for a repository the registry does not know (404); nil if
// each returned false.
func (rc *registryClient) tags(ctx context.Context, repo name.Repository, each func(string) bool) ([]string, error) {
	lister, err := rc.puller.Lister(ctx, repo)
	if notFound(err) {
		return []string{}, errNoRepository
	}
	if err != nil {
		return nil, fmt.Errorf("listing tags: %s", rc.redact(err))
	}
	listed := []string{}
	for pages := 0; lister.HasNext(); pages++ {
		if pages >= rc.maxPages {
			return nil, rc.endless("tags of "+repo.String(), len(listed))
		}
		page, err := lister.Next(ctx)
		if notFound(err) && len(listed) == 0 {
			return []string{}, errNoRepository
		}
		if err != nil {
			return nil, fmt.Errorf("listing tags: %s", rc.redact(err))
		}
		for _, tag := range page.Tags {
			if each != nil && !each(tag) {
				return nil, nil
			}
		}
		listed = append(listed, page.Tags...)
	}
	return listed, nil
}

// endless is the error for a list (what) whose pages go on past
// max_list_pages, after listed names.
func (rc *registryClient) endless(what string, listed int) error {
	return fmt.Errorf("listing %s: %w: more than %d pages (max_list_pages; %d names so far), the registry's Link: rel=\"next\" does not end",
		what, ErrListLimit, rc.maxPages, listed)
}

// notFound reports whether err is the registry's 404 (NAME_UNKNOWN).
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// registryCode is the first error code of a registry's error answer, or "".
func registryCode(err error) transport.ErrorCode {
	var te *transport.Error
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return te.Errors[0].Code
	}
	return ""
}

// registryName is the registry as its repositories' records name it.
func (rc *registryClient) registryName() string {
	reg, err := name.NewRegistry(rc.host, rc.nameOpts...)
	if err != nil {
		return rc.host
	}
	return reg.RegistryStr()
}

// repositories lists the repositories to scan: the configured ones, or
// those of the catalog that the include and exclude globs select. catalog
// is the whole catalog when it was read (nil for configured ones).
func (rc *registryClient) repositories(ctx context.Context) (repos, catalog []string, err error) {
	all := rc.cfg.Repositories
	if len(all) == 0 {
		reg, err := name.NewRegistry(rc.host, rc.nameOpts...)
		if err != nil {
			return nil, nil, err
		}
		cat, err := rc.puller.Catalogger(ctx, reg)
		if errors.Is(err, ErrUnreachable) {
			return nil, nil, &redactedError{rc.redact, err} // not the catalog's fault
		}
		if err != nil {
			return nil, nil, fmt.Errorf("listing repositories (catalog API; list them in config.toml if the registry has none): %s", rc.redact(err))
		}
		all = []string{}
		for pages := 0; cat.HasNext(); pages++ {
			if pages >= rc.maxPages {
				return nil, nil, rc.endless("repositories of "+rc.host, len(all))
			}
			page, err := cat.Next(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("listing repositories: %s", rc.redact(err))
			}
			all = append(all, page.Repos...)
		}
		catalog = all
	}
	for _, r := range all {
		if matchAny(rc.cfg.Exclude, r) {
			continue
		}
		if len(rc.cfg.Include) > 0 && !matchAny(rc.cfg.Include, r) {
			continue
		}
		repos = append(repos, r)
	}
	return repos, catalog, nil
}

func checkGlob(g string) error {
	if err := pathglob.Check(g); err != nil {
		return fmt.Errorf("glob %q: %w", g, err)
	}
	return nil
}

func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if pathglob.Match(g, s) {
			return true
		}
	}
	return false
}

func withCA(base http.RoundTripper, file string) (http.RoundTripper, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", file)
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("ca_file needs an *http.Transport, have %T", base)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.RootCAs = pool
	return t, nil
}

// schemeGuard refuses plain HTTP except to loopback hosts or registries
// marked insecure, so credentials and content never cross a network in the
// clear by accident (go-containerregistry would otherwise fall back to HTTP
// for private-range addresses).
type schemeGuard struct {
	next     http.RoundTripper
	insecure bool
}

func (g *schemeGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.insecure && !isLoopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: set insecure = true for this registry in config.toml if that is intended", r.URL.Host)
	}
	return g.next.RoundTrip(r)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parsePlatforms(specs []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range specs {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", s, err)
		}
		out = append(out, *p)
	}
	return out, nil
}
