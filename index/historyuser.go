package index

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// userStep matches a history entry's created_by that is a USER instruction,
// as builders write it: BuildKit and kaniko "USER x", the classic builder
// and buildah "/bin/sh -c #(nop) USER x" (older Docker "USER [x]"). A RUN
// step that merely mentions USER does not match: the instruction must open
// the string or follow "#(nop)".
var userStep = regexp.MustCompile(`^\s*(?:(?:/bin/)?sh\s+-c\s+)?(?:#\(nop\)\s*)?USER\s+(.*?)\s*$`)

// HistoryUser reports whether createdBy is a USER step, and the user it
// sets ("" for a USER with nothing after it).
func HistoryUser(createdBy string) (string, bool) {
	if !strings.Contains(createdBy, "USER") {
		return "", false
	}
	m := userStep.FindStringSubmatch(createdBy)
	if m == nil {
		return "", false
	}
	u := m[1]
	if strings.HasPrefix(u, "[") && strings.HasSuffix(u, "]") {
		u = strings.TrimSpace(u[1 : len(u)-1])
	}
	return u, true
}

// fillHistoryUsers sets manifest_history.user where it is NULL (images
// indexed before migration 0015), one manifest at a time, from the stored
// created_by of its steps.
func fillHistoryUsers(ctx context.Context, tx *sql.Tx) error {
	ids, err := tx.QueryContext(ctx, `SELECT DISTINCT manifest_id FROM manifest_history WHERE user IS NULL`)
	if err != nil {
		return err
	}
	var manifests []int64
	for ids.Next() {
		var id int64
		if err := ids.Scan(&id); err != nil {
			ids.Close()
			return err
		}
		manifests = append(manifests, id)
	}
	if err := ids.Close(); err != nil {
		return err
	}
	if err := ids.Err(); err != nil {
		return err
	}
	for _, id := range manifests {
		rows, err := tx.QueryContext(ctx, `SELECT position, COALESCE(created_by, '') FROM manifest_history WHERE manifest_id = ? ORDER BY position`, id)
		if err != nil {
			return err
		}
		var positions []int64
		var users []string
		user := ""
		for rows.Next() {
			var pos int64
			var createdBy string
			if err := rows.Scan(&pos, &createdBy); err != nil {
				rows.Close()
				return err
			}
			if u, ok := HistoryUser(createdBy); ok {
				user = u
			}
			positions, users = append(positions, pos), append(users, user)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, pos := range positions {
			if _, err := tx.ExecContext(ctx, `UPDATE manifest_history SET user = ? WHERE manifest_id = ? AND position = ?`, users[i], id, pos); err != nil {
				return fmt.Errorf("manifest %d history %d: %w", id, pos, err)
			}
		}
	}
	return nil
}
