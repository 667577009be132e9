// Package zhufang is the domain of the zhufang operations platform: the
// organisation of a city's police (bureaus, stations, police offices,
// communities, officers and mass-prevention forces), the geometry they live
// on, the error codes every layer speaks, and the service contracts that the
// storage and engine packages beside it implement.
//
// The root package imports only the standard library. Packages beside it
// (sqlstore, locate, tiling, demo, web) implement or use these contracts and
// are wired together only in cmd/zhufang.
package zhufang
