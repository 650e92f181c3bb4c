//go:build !unix

package lean

// idlePeek is not available on this platform: a connection closed while
// idle is found when it fails, and the request is retried.
type idlePeek struct{}

func newIdlePeek(*pconn) *idlePeek { return nil }

// quiet cannot look at an idle socket here and assumes it is fine.
func (c *pconn) quiet() bool { return true }
