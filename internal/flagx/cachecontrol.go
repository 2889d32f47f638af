package flagx

// CacheControl resolves serve's --cache-control (flag) for the folder
// root ("" for the embedded site, whose lifetime is site). The embedded site has no file
// times, so without a lifetime a cache in front could only revalidate it;
// a folder's files carry Last-Modified and are left to the cache's
// heuristics unless the user asks, as nginx does without "expires".
func CacheControl(flag, root, site string) string {
	switch flag {
	case "auto":
		if root == "" {
			return site
		}
		return ""
	case "none", "off", "":
		return ""
	}
	return flag
}
