package index

import (
	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/overlay"
)

// The domain types moved to the root package (auditor), which the crawler
// and every back end share. The names below stay only while the branches in
// flight that use them land; new code uses auditor.X.

// Deprecated: moved to auditor.EntryType; kept while in-flight branches land.
type EntryType = auditor.EntryType

// Deprecated: moved to auditor.ContentKind; kept while in-flight branches land.
type ContentKind = auditor.ContentKind

// Deprecated: moved to auditor.Entry; kept while in-flight branches land.
type Entry = auditor.Entry

// Deprecated: moved to auditor.Layer; kept while in-flight branches land.
type Layer = auditor.Layer

// Deprecated: moved to auditor.ContentMatch; kept while in-flight branches land.
type ContentMatch = auditor.ContentMatch

// Deprecated: moved to auditor.ContentDrop; kept while in-flight branches land.
type ContentDrop = auditor.ContentDrop

// Deprecated: moved to auditor.ContentDigests; kept while in-flight branches land.
type ContentDigests = auditor.ContentDigests

// Deprecated: moved to auditor.Capture; kept while in-flight branches land.
type Capture = auditor.Capture

// Deprecated: moved to auditor.ConfigFile; kept while in-flight branches land.
type ConfigFile = auditor.ConfigFile

// Deprecated: moved to auditor.ConfigRow; kept while in-flight branches land.
type ConfigRow = auditor.ConfigRow

// Deprecated: moved to auditor.ScannerVersion; kept while in-flight branches land.
type ScannerVersion = auditor.ScannerVersion

// Deprecated: moved to auditor.LayerScan; kept while in-flight branches land.
type LayerScan = auditor.LayerScan

// Deprecated: moved to auditor.Platform; kept while in-flight branches land.
type Platform = auditor.Platform

// Deprecated: moved to auditor.History; kept while in-flight branches land.
type History = auditor.History

// Deprecated: moved to auditor.Healthcheck; kept while in-flight branches land.
type Healthcheck = auditor.Healthcheck

// Deprecated: moved to auditor.Image; kept while in-flight branches land.
type Image = auditor.Image

// Deprecated: moved to auditor.IndexChild; kept while in-flight branches land.
type IndexChild = auditor.IndexChild

// Deprecated: moved to auditor.ImageIndex; kept while in-flight branches land.
type ImageIndex = auditor.ImageIndex

// Deprecated: moved to auditor.ManifestState; kept while in-flight branches land.
type ManifestState = auditor.ManifestState

// Deprecated: moved to auditor.Repo; kept while in-flight branches land.
type Repo = auditor.Repo

// Deprecated: moved to auditor.ScanError; kept while in-flight branches land.
type ScanError = auditor.ScanError

// Deprecated: moved to auditor.ScanStats; kept while in-flight branches land.
type ScanStats = auditor.ScanStats

// Deprecated: moved to auditor.TypeFile; kept while in-flight branches land.
const TypeFile = auditor.TypeFile

// Deprecated: moved to auditor.TypeDir; kept while in-flight branches land.
const TypeDir = auditor.TypeDir

// Deprecated: moved to auditor.TypeSymlink; kept while in-flight branches land.
const TypeSymlink = auditor.TypeSymlink

// Deprecated: moved to auditor.TypeHardlink; kept while in-flight branches land.
const TypeHardlink = auditor.TypeHardlink

// Deprecated: moved to auditor.TypeChar; kept while in-flight branches land.
const TypeChar = auditor.TypeChar

// Deprecated: moved to auditor.TypeBlock; kept while in-flight branches land.
const TypeBlock = auditor.TypeBlock

// Deprecated: moved to auditor.TypeFIFO; kept while in-flight branches land.
const TypeFIFO = auditor.TypeFIFO

// Deprecated: moved to auditor.TypeWhiteout; kept while in-flight branches land.
const TypeWhiteout = auditor.TypeWhiteout

// Deprecated: moved to auditor.TypeOpaque; kept while in-flight branches land.
const TypeOpaque = auditor.TypeOpaque

// Deprecated: moved to auditor.TypeOther; kept while in-flight branches land.
const TypeOther = auditor.TypeOther

// Deprecated: moved to auditor.KindOther; kept while in-flight branches land.
const KindOther = auditor.KindOther

// Deprecated: moved to auditor.KindELF; kept while in-flight branches land.
const KindELF = auditor.KindELF

// Deprecated: moved to auditor.KindScript; kept while in-flight branches land.
const KindScript = auditor.KindScript

// Deprecated: moved to auditor.KindEmpty; kept while in-flight branches land.
const KindEmpty = auditor.KindEmpty

// Deprecated: moved to auditor.KindNone; kept while in-flight branches land.
const KindNone = auditor.KindNone

// Deprecated: moved to auditor.ContentScanner; kept while in-flight branches land.
const ContentScanner = auditor.ContentScanner

// Deprecated: moved to auditor.ConfigScanner; kept while in-flight branches land.
const ConfigScanner = auditor.ConfigScanner

// Deprecated: moved to overlay.Entry; kept while in-flight branches land.
type OverlayEntry = overlay.Entry

// Deprecated: moved to overlay.Hidden; kept while in-flight branches land.
type Hidden = overlay.Hidden

// Deprecated: moved to overlay.Moved; kept while in-flight branches land.
type Moved = overlay.Moved

// Deprecated: moved to overlay.Inode; kept while in-flight branches land.
type Inode = overlay.Inode

// Deprecated: moved to overlay.HiddenHow; kept while in-flight branches land.
type HiddenHow = overlay.HiddenHow

// Deprecated: moved to overlay.HiddenDeleted; kept while in-flight branches land.
const HiddenDeleted = overlay.HiddenDeleted

// Deprecated: moved to overlay.HiddenOpaque; kept while in-flight branches land.
const HiddenOpaque = overlay.HiddenOpaque

// Deprecated: moved to overlay.HiddenOverwritten; kept while in-flight branches land.
const HiddenOverwritten = overlay.HiddenOverwritten

// Deprecated: moved to overlay.HiddenMarker; kept while in-flight branches land.
const HiddenMarker = overlay.HiddenMarker

// Overlay is overlay.Compute.
//
// Deprecated: moved to overlay.Compute; kept while in-flight branches land.
func Overlay(layers [][]OverlayEntry) ([]Hidden, []Moved, []Inode) { return overlay.Compute(layers) }
