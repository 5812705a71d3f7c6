package imagepkg

import (
	"github.com/auditor-dev/auditor"
	"reflect"
	"testing"
)

// TestSameFileComparesEveryField: sameFile, which decides whether an image
// holds what another's resolution looked at, compares every field of File.
func TestSameFileComparesEveryField(t *testing.T) {
	if n := reflect.TypeFor[File]().NumField(); n != 7 {
		t.Errorf("File has %d fields, sameFile compares 7: compare the new ones too", n)
	}
	a := File{Path: "/a", Type: 1, LinkTarget: "b", SHA256: "c", MD5: "d", SHA1: "e", Replaced: []auditor.ContentDigests{{SHA256: "f"}}}
	if !sameFile(&a, &a) {
		t.Error("a file differs from itself")
	}
	for i, change := range []func(*File){
		func(f *File) { f.Path = "/x" }, func(f *File) { f.Type = 2 }, func(f *File) { f.LinkTarget = "x" },
		func(f *File) { f.SHA256 = "x" }, func(f *File) { f.MD5 = "x" }, func(f *File) { f.SHA1 = "x" },
		func(f *File) { f.Replaced = []auditor.ContentDigests{{SHA256: "x"}} },
	} {
		b := a
		change(&b)
		if sameFile(&a, &b) {
			t.Errorf("change %d: not seen", i)
		}
	}
}
