// Package auditor holds the domain types of a registry audit, shared by the
// crawler (crawl), the scanners and every index back end (index for SQLite):
// a layer and its entries, an image and its index, a repository, a scan's
// errors and counts. It has no behaviour of its own beyond their String
// methods and imports nothing of the module.
package auditor
