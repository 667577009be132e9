package inmem_test

import (
	"context"
	"testing"

	"zhufang"
	"zhufang/inmem"
)

func TestBusFansOutInOrder(t *testing.T) {
	bus := inmem.NewBus(10)
	a, stopA := bus.Subscribe()
	b, stopB := bus.Subscribe()
	defer stopA()
	if err := bus.Publish(context.Background(), zhufang.Event{ID: 1}, zhufang.Event{ID: 2}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan zhufang.Event{a, b} {
		if e := <-ch; e.ID != 1 {
			t.Fatalf("first event %d", e.ID)
		}
		if e := <-ch; e.ID != 2 {
			t.Fatalf("second event %d", e.ID)
		}
	}
	stopB()
	stopB() // ending twice is harmless
	if _, ok := <-b; ok {
		t.Fatal("an ended subscription's channel is open")
	}
	bus.Publish(context.Background(), zhufang.Event{ID: 3})
	if e := <-a; e.ID != 3 {
		t.Fatalf("after another subscriber left: %d", e.ID)
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	bus := inmem.NewBus(2)
	slow, stopSlow := bus.Subscribe()
	defer stopSlow()
	fast, stopFast := bus.Subscribe()
	defer stopFast()
	for i := int64(1); i <= 5; i++ {
		if err := bus.Publish(context.Background(), zhufang.Event{ID: i}); err != nil {
			t.Fatal(err)
		}
		if e := <-fast; e.ID != i {
			t.Fatalf("the reading subscriber got %d, want %d", e.ID, i)
		}
	}
	n := 0
	for range slow {
		n++
	}
	if n != 2 {
		t.Fatalf("the slow subscriber kept %d events before being dropped, want its buffer of 2", n)
	}
}
