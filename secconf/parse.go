package secconf

// File is what secconf reads in one captured file: its lines, and the rows
// of its kind's format (the other fields are empty).
type File struct {
	Kind  Kind
	Lines []Line

	Passwd       []Account // passwd lines, passwords "shadowed" until joined with Accounts
	Shadow       []ShadowEntry
	Groups       []Group
	Sudo         []SudoGrant
	SudoIncludes []SudoInclude
	SudoAliases  []SudoAlias
	SSH          []SSHOption
	PAM          []PAMLine
	Cron         []CronEntry
	Units        []UnitDirective
	Hosts        []HostEntry
	Sources      []Source
}

// Parse reads data, the content of a file of kind k (from Classify), name
// naming it in errors. Only a file over lim is an error: lines a format does
// not recognise are kept as lines only.
func Parse(k Kind, name string, data []byte, lim Limits) (*File, error) {
	ls, err := Lines(name, data, lim)
	if err != nil {
		return nil, err
	}
	f := &File{Kind: k, Lines: ls}
	switch BaseKind(k) {
	case KindPasswd:
		f.Passwd = ParsePasswd(ls)
	case KindShadow, KindGShadow:
		f.Shadow = ParseShadow(ls)
	case KindGroup:
		f.Groups = ParseGroup(ls)
	case KindSudoers:
		f.Sudo, f.SudoIncludes = ParseSudoers(ls)
		f.SudoAliases = ParseSudoAliases(ls)
	case KindSSHD, KindSSH:
		f.SSH = ParseSSHConfig(ls)
	case KindPAM:
		f.PAM = ParsePAM(ls)
	case KindCron:
		f.Cron = ParseCron(ls, true)
	case KindUserCron:
		f.Cron = ParseCron(ls, false)
	case KindSystemd:
		f.Units = ParseUnit(ls)
	case KindHosts:
		f.Hosts = ParseHosts(ls)
	case KindAptList:
		f.Sources = ParseAptList(ls)
	case KindAptSources:
		f.Sources = ParseAptSources(ls)
	case KindApkRepos:
		f.Sources = ParseApkRepositories(ls)
	case KindYumRepo:
		f.Sources = ParseYumRepo(ls)
	case KindPip:
		f.Sources = ParsePip(ls)
	case KindNpm:
		f.Sources = ParseNpmrc(ls)
	case KindGem:
		f.Sources = ParseGemrc(ls)
	}
	return f, nil
}
