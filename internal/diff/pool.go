package diff

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// PoolSource is a side that can describe the pool's configuration.
type PoolSource interface {
	PoolConfig(ctx context.Context) (*snapshot.PoolConfig, error)
}

// PoolReport says how the configuration changed: the names of changed pool
// settings, and app clients and identity providers added, removed or
// changed (with the names of changed settings).
type PoolReport struct {
	Settings         []string      `json:"settings,omitempty"`
	ClientsAdded     []string      `json:"clientsAdded,omitempty"`
	ClientsRemoved   []string      `json:"clientsRemoved,omitempty"`
	ClientsChanged   []GroupChange `json:"clientsChanged,omitempty"`
	ProvidersAdded   []string      `json:"providersAdded,omitempty"`
	ProvidersRemoved []string      `json:"providersRemoved,omitempty"`
	ProvidersChanged []GroupChange `json:"providersChanged,omitempty"`
}

func (p *PoolReport) empty() bool {
	return p == nil || len(p.Settings)+len(p.ClientsAdded)+len(p.ClientsRemoved)+len(p.ClientsChanged)+
		len(p.ProvidersAdded)+len(p.ProvidersRemoved)+len(p.ProvidersChanged) == 0
}

// volatile are settings the service changes by itself.
var volatile = map[string]bool{"LastModifiedDate": true, "CreationDate": true, "EstimatedNumberOfUsers": true}

func comparePools(ctx context.Context, old, new PoolSource) (*PoolReport, error) {
	oc, err := old.PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := new.PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	r := &PoolReport{}
	r.Settings = changedKeys(asMap(oc.UserPool), asMap(nc.UserPool))
	r.ClientsAdded, r.ClientsRemoved, r.ClientsChanged = compareNamed(oc.Clients, nc.Clients, "ClientId")
	r.ProvidersAdded, r.ProvidersRemoved, r.ProvidersChanged = compareNamed(oc.IdentityProviders, nc.IdentityProviders, "ProviderName")
	return r, nil
}

func asMap(raw json.RawMessage) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func changedKeys(o, n map[string]any) []string {
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if !volatile[k] && !reflect.DeepEqual(o[k], n[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func compareNamed(old, new []json.RawMessage, key string) (added, removed []string, changed []GroupChange) {
	index := func(list []json.RawMessage) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, raw := range list {
			m := asMap(raw)
			if name, ok := m[key].(string); ok {
				out[name] = m
			}
		}
		return out
	}
	o, n := index(old), index(new)
	for name, nm := range n {
		om, ok := o[name]
		if !ok {
			added = append(added, name)
			continue
		}
		if fields := changedKeys(om, nm); fields != nil {
			changed = append(changed, GroupChange{Name: name, Fields: fields})
		}
	}
	for name := range o {
		if _, ok := n[name]; !ok {
			removed = append(removed, name)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Slice(changed, func(i, j int) bool { return changed[i].Name < changed[j].Name })
	return added, removed, changed
}
