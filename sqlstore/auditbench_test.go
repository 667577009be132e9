package sqlstore_test

import (
	"context"
	"testing"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// BenchmarkRecordAudit appends one audit entry in its own transaction, to
// a keyed chain: the cost the audit chain adds to each view of personal
// data.
func BenchmarkRecordAudit(b *testing.B) {
	for _, engine := range sqltest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			db := sqltest.Open(b, engine, sqlstore.Options{})
			if _, err := db.UseAuditKey(context.Background(), testAuditKey); err != nil {
				b.Fatal(err)
			}
			ctx := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{ID: 1, Username: "bench"}, Address: "10.0.0.1"})
			for b.Loop() {
				if err := db.RecordAudit(ctx, zhufang.AuditViewPersonal, "incident:1", "caller phone"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
