package dispatch_test

import (
	"fmt"
	"time"

	"zhufang"
	"zhufang/dispatch"
)

func ExampleRecommend() {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	ix, err := dispatch.NewIndex(dispatch.IndexOptions{Clock: zhufang.FixedClock(now)})
	if err != nil {
		panic(err)
	}
	ix.Put(zhufang.Unit{ID: 7, CallSign: "零陵巡01", Kind: zhufang.UnitPatrolCar, Platform: zhufang.PlatformPolice,
		StationID: 3, Crew: 2, Status: zhufang.UnitAvailable})
	ix.Update(zhufang.PositionReport{UnitID: 7, At: now.Add(-10 * time.Second), Point: zhufang.Point{Lon: 111.6130, Lat: 26.4200}})
	q := dispatch.Query{At: zhufang.Point{Lon: 111.6000, Lat: 26.4200}, Zone: zhufang.ZoneUrban, StationID: 3}
	for _, r := range dispatch.Recommend(ix, q) {
		fmt.Println(r.CallSign, r.ETA, r.Reason)
	}
	// Output: 零陵巡01 2m39s 最近可用巡逻车，本所，1.3公里约2分39秒 / nearest available patrol car, own station, 1.3 km, about 2 min 39 s
}
