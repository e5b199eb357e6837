// Command vcsim runs govmomi's vCenter simulator (simulator.VPX()) for IXNode's tests.
//
// It serves the vSphere SOAP API over TLS on a loopback address with a throw-away self-signed certificate,
// prints one JSON line ({"url", "host", "port", "thumbprint_sha1", "thumbprint_sha256"}) on stdout once it
// listens, and stops on SIGINT/SIGTERM. Credentials come from VCSIM_USER / VCSIM_PASSWORD.
//
// On top of govmomi 0.24.2's simulator it adds, through the simulator's own extension point (wrapping the
// VirtualMachine managed objects in the registry, see simulator/example_extend_test.go), what a real vCenter
// does and the 0.24.2 simulator does not:
//   - CloneVM_Task runs as a real asynchronous task (optionally taking -clone-delay), refuses a duplicate
//     name in the destination folder (DuplicateName), applies spec.customization (the fixed IP then shows
//     in guest.ipAddress after power-on) and honours spec.powerOn;
//   - ShutdownGuest returns at once and the guest powers off after a delay (or never: a hung guest);
//   - a powered-on VM without customization reports a "DHCP" bootstrap address when bootstrap IPs are set.
//
// Tests steer it through a small control endpoint (HTTP basic auth with the same credentials):
//
//	GET  /ixnode-test/control          current settings
//	POST /ixnode-test/control          JSON, merged: clone_delay_ms, shutdown_delay_ms (-1 = guest never
//	                                   shuts down), bootstrap_ips ([...]), faults ([{op, match, fault,
//	                                   message, times}]) with op in clone|power_on|power_off|shutdown_guest|
//	                                   destroy, match a regular expression on the (target) VM name
//	POST /ixnode-test/reset            back to the start-up settings
//	POST /ixnode-test/guest-ip         {"vm": name, "ip": address}: what VMware Tools would report ("" clears)
//
// Injected faults are ordinary vSphere faults (task info.error or SOAP fault): the client cannot tell them
// from a real vCenter's.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // vCenter thumbprints are SHA-1 by convention
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ---------------------------------------------------------------------------------------------------------
// Control state

type faultRule struct {
	Op      string `json:"op"`
	Match   string `json:"match"`
	Fault   string `json:"fault"`
	Message string `json:"message"`
	Times   int    `json:"times"` // 0: until reset
	Fired   int    `json:"fired"`
	re      *regexp.Regexp
}

type controlState struct {
	CloneDelayMS    int          `json:"clone_delay_ms"`
	ShutdownDelayMS int          `json:"shutdown_delay_ms"`
	BootstrapIPs    []string     `json:"bootstrap_ips"`
	Faults          []*faultRule `json:"faults"`
}

var (
	stateMu      sync.Mutex
	state        controlState
	initialState controlState
	bootstrapIdx int
	cloneNameMu  sync.Mutex
)

func snapshotState() controlState {
	stateMu.Lock()
	defer stateMu.Unlock()
	return state
}

var faultOps = map[string]bool{"clone": true, "power_on": true, "power_off": true, "shutdown_guest": true, "destroy": true}

// injectedFault returns the fault to answer for op on the named VM, if a rule matches.
func injectedFault(op, name string) (types.BaseMethodFault, string) {
	stateMu.Lock()
	defer stateMu.Unlock()
	for _, rule := range state.Faults {
		if rule.Op != op || !rule.re.MatchString(name) {
			continue
		}
		if rule.Times > 0 && rule.Fired >= rule.Times {
			continue
		}
		rule.Fired++
		return makeFault(rule.Fault, rule.Message, name), rule.Message
	}
	return nil, ""
}

func makeFault(kind, message, name string) types.BaseMethodFault {
	switch kind {
	case "NoDiskSpace":
		return &types.NoDiskSpace{Datastore: "LocalDS_0"}
	case "DuplicateName":
		return &types.DuplicateName{Name: name}
	case "NoPermission":
		return &types.NoPermission{PrivilegeId: "VirtualMachine.Provisioning.Clone"}
	case "InvalidState":
		return &types.InvalidState{}
	case "SystemError":
		return &types.SystemError{Reason: message}
	case "CustomizationFault":
		return &types.CustomizationFault{}
	case "TaskInProgress":
		return &types.TaskInProgress{}
	default: // "InsufficientResourcesFault"
		return &types.InsufficientResourcesFault{}
	}
}

func nextBootstrapIP() string {
	stateMu.Lock()
	defer stateMu.Unlock()
	if len(state.BootstrapIPs) == 0 {
		return ""
	}
	ip := state.BootstrapIPs[bootstrapIdx%len(state.BootstrapIPs)]
	bootstrapIdx++
	return ip
}

// ---------------------------------------------------------------------------------------------------------
// Asynchronous tasks

// runTaskAsync starts a simulator Task whose work runs in the background, as vCenter's tasks do: the caller
// gets the task reference at once and follows info.state. Task property updates are taken under the task's
// registry lock, the same lock the PropertyCollector takes to read it.
func runTaskAsync(entity mo.Reference, name string, work func() (types.AnyType, types.BaseMethodFault, string)) types.ManagedObjectReference {
	task := simulator.CreateTask(entity, name, nil)
	go func() {
		simulator.Map.WithLock(task, func() {
			simulator.Map.Update(task, []types.PropertyChange{
				{Name: "info.startTime", Val: time.Now()},
				{Name: "info.state", Val: types.TaskInfoStateRunning},
			})
		})
		res, fault, message := work()
		taskState := types.TaskInfoStateSuccess
		var info interface{}
		if fault != nil {
			taskState = types.TaskInfoStateError
			if message == "" {
				message = fmt.Sprintf("%T", fault)
			}
			info = types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}
		}
		simulator.Map.WithLock(task, func() {
			simulator.Map.Update(task, []types.PropertyChange{
				{Name: "info.completeTime", Val: time.Now()},
				{Name: "info.state", Val: taskState},
				{Name: "info.result", Val: res},
				{Name: "info.error", Val: info},
			})
		})
	}()
	return task.Self
}

// innerTaskResult reads the outcome of a (synchronously completed) simulator task.
func innerTaskResult(ref types.ManagedObjectReference) (types.AnyType, types.BaseMethodFault) {
	task := simulator.Map.Get(ref).(*simulator.Task)
	if task.Info.Error != nil {
		return nil, task.Info.Error.Fault
	}
	return task.Info.Result, nil
}

// ---------------------------------------------------------------------------------------------------------
// VirtualMachine wrapper

// VM wraps simulator.VirtualMachine (embedded by value so the PropertyCollector finds the mo type).
type VM struct {
	simulator.VirtualMachine
}

func wrapVM(ref types.ManagedObjectReference) *VM {
	var wrapped *VM
	simulator.Map.WithLock(ref, func() {
		switch obj := simulator.Map.Get(ref).(type) {
		case *VM:
			wrapped = obj
		case *simulator.VirtualMachine:
			wrapped = &VM{*obj}
			simulator.Map.Put(wrapped)
		}
	})
	return wrapped
}

func (vm *VM) inner() *simulator.VirtualMachine { return &vm.VirtualMachine }

func (vm *VM) CloneVMTask(ctx *simulator.Context, req *types.CloneVM_Task) soap.HasFault {
	delay := time.Duration(snapshotState().CloneDelayMS) * time.Millisecond
	ref := runTaskAsync(vm, "cloneVm", func() (types.AnyType, types.BaseMethodFault, string) {
		time.Sleep(delay)
		if fault, message := injectedFault("clone", req.Name); fault != nil {
			return nil, fault, message
		}
		cloneNameMu.Lock()
		defer cloneNameMu.Unlock()
		if folder, ok := simulator.Map.Get(req.Folder).(*simulator.Folder); ok {
			if simulator.Map.FindByName(req.Name, folder.ChildEntity) != nil {
				return nil, &types.DuplicateName{Name: req.Name, Object: req.Folder},
					fmt.Sprintf("The name '%s' already exists.", req.Name)
			}
		}
		spec := req.Spec
		inner := *req
		inner.Spec.PowerOn = false
		inner.Spec.Customization = nil
		var body soap.HasFault
		simulator.Map.WithLock(vm, func() { body = vm.inner().CloneVMTask(ctx, &inner) })
		if f := body.Fault(); f != nil {
			return nil, f.VimFault().(types.BaseMethodFault), f.String
		}
		res, fault := innerTaskResult(body.(*methods.CloneVM_TaskBody).Res.Returnval)
		if fault != nil {
			return nil, fault, ""
		}
		cloneRef := res.(types.ManagedObjectReference)
		clone := wrapVM(cloneRef)
		if spec.Customization != nil {
			var cbody soap.HasFault
			simulator.Map.WithLock(clone, func() {
				cbody = clone.inner().CustomizeVMTask(&types.CustomizeVM_Task{This: cloneRef, Spec: *spec.Customization})
			})
			if _, fault := innerTaskResult(cbody.(*methods.CustomizeVM_TaskBody).Res.Returnval); fault != nil {
				return nil, fault, "guest customization failed"
			}
		}
		if spec.PowerOn && !spec.Template {
			var pbody soap.HasFault
			simulator.Map.WithLock(clone, func() {
				pbody = clone.powerOn(ctx, &types.PowerOnVM_Task{This: cloneRef})
			})
			if f := pbody.Fault(); f != nil {
				return nil, f.VimFault().(types.BaseMethodFault), f.String
			}
			if _, fault := innerTaskResult(pbody.(*methods.PowerOnVM_TaskBody).Res.Returnval); fault != nil {
				return nil, fault, ""
			}
		}
		return cloneRef, nil, ""
	})
	return &methods.CloneVM_TaskBody{Res: &types.CloneVM_TaskResponse{Returnval: ref}}
}

func failedTask(vm *VM, name string, fault types.BaseMethodFault, message string) types.ManagedObjectReference {
	return runTaskAsync(vm, name, func() (types.AnyType, types.BaseMethodFault, string) { return nil, fault, message })
}

// powerOn powers the VM on (the caller holds the VM's lock) and completes what the guest reports at boot.
func (vm *VM) powerOn(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	if fault, message := injectedFault("power_on", vm.Name); fault != nil {
		return &methods.PowerOnVM_TaskBody{Res: &types.PowerOnVM_TaskResponse{Returnval: failedTask(vm, "powerOn", fault, message)}}
	}
	body := vm.inner().PowerOnVMTask(ctx, req)
	if body.Fault() != nil {
		return body
	}
	if _, fault := innerTaskResult(body.(*methods.PowerOnVM_TaskBody).Res.Returnval); fault != nil {
		return body
	}
	changes := []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "guest.guestState", Val: "running"},
	}
	ip := vm.Guest.IpAddress
	if ip == "" {
		// No customization: the guest takes an address from "DHCP", when the test configured some.
		if ip = nextBootstrapIP(); ip != "" {
			changes = append(changes, vm.guestIPChanges(ip)...)
		}
	} else {
		changes = append(changes, types.PropertyChange{Name: "summary.guest.ipAddress", Val: ip})
	}
	if vm.Guest.HostName != "" {
		changes = append(changes, types.PropertyChange{Name: "summary.guest.hostName", Val: vm.Guest.HostName})
	}
	simulator.Map.Update(vm.inner(), changes)
	return body
}

func (vm *VM) guestIPChanges(ip string) []types.PropertyChange {
	changes := []types.PropertyChange{
		{Name: "guest.ipAddress", Val: ip},
		{Name: "summary.guest.ipAddress", Val: ip},
	}
	if len(vm.Guest.Net) > 0 {
		if ip == "" { // the guest lost its address
			vm.Guest.Net[0].IpAddress = nil
			vm.Guest.Net[0].IpConfig = nil
		} else {
			vm.Guest.Net[0].IpAddress = []string{ip}
			vm.Guest.Net[0].IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{IpAddress: ip}}}
		}
		changes = append(changes, types.PropertyChange{Name: "guest.net", Val: vm.Guest.Net})
	}
	return changes
}

func (vm *VM) PowerOnVMTask(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	return vm.powerOn(ctx, req)
}

func (vm *VM) PowerOffVMTask(ctx *simulator.Context, req *types.PowerOffVM_Task) soap.HasFault {
	if fault, message := injectedFault("power_off", vm.Name); fault != nil {
		return &methods.PowerOffVM_TaskBody{Res: &types.PowerOffVM_TaskResponse{Returnval: failedTask(vm, "powerOff", fault, message)}}
	}
	body := vm.inner().PowerOffVMTask(ctx, req)
	vm.toolsStopped()
	return body
}

func (vm *VM) toolsStopped() {
	simulator.Map.Update(vm.inner(), []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "guest.guestState", Val: "notRunning"},
	})
}

func (vm *VM) ShutdownGuest(ctx *simulator.Context, req *types.ShutdownGuest) soap.HasFault {
	if fault, message := injectedFault("shutdown_guest", vm.Name); fault != nil {
		return &methods.ShutdownGuestBody{Fault_: simulator.Fault(message, fault)}
	}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return vm.inner().ShutdownGuest(ctx, req) // the simulator's InvalidPowerState fault
	}
	delay := snapshotState().ShutdownDelayMS
	if delay == 0 {
		body := vm.inner().ShutdownGuest(ctx, req)
		vm.toolsStopped()
		return body
	}
	if delay > 0 {
		// The guest OS shuts down on its own time; the call returns at once, as on vCenter.
		go func() {
			time.Sleep(time.Duration(delay) * time.Millisecond)
			simulator.Map.WithLock(vm, func() {
				current, ok := simulator.Map.Get(vm.Self).(*VM)
				if ok && current.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
					current.inner().ShutdownGuest(ctx, req)
					current.toolsStopped()
				}
			})
		}()
	}
	// delay < 0: a hung guest that ignores the request.
	return &methods.ShutdownGuestBody{Res: new(types.ShutdownGuestResponse)}
}

func (vm *VM) DestroyTask(ctx *simulator.Context, req *types.Destroy_Task) soap.HasFault {
	if fault, message := injectedFault("destroy", vm.Name); fault != nil {
		return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: failedTask(vm, "destroy", fault, message)}}
	}
	return vm.inner().DestroyTask(ctx, req)
}

// ---------------------------------------------------------------------------------------------------------
// Control endpoint

func findVMByName(name string) *VM {
	for _, entity := range simulator.Map.All("VirtualMachine") {
		if entity.Entity().Name == name {
			return wrapVM(entity.Reference())
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func controlHandler(user, password string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="vcsim control"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "basic auth with the vcsim credentials required"})
			return
		}
		switch {
		case r.URL.Path == "/ixnode-test/control" && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, snapshotState())
		case r.URL.Path == "/ixnode-test/control" && r.Method == http.MethodPost:
			var update map[string]json.RawMessage
			if err := json.NewDecoder(r.Body).Decode(&update); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			stateMu.Lock()
			next := state
			var err error
			for key, raw := range update {
				switch key {
				case "clone_delay_ms":
					err = json.Unmarshal(raw, &next.CloneDelayMS)
				case "shutdown_delay_ms":
					err = json.Unmarshal(raw, &next.ShutdownDelayMS)
				case "bootstrap_ips":
					next.BootstrapIPs = nil
					err = json.Unmarshal(raw, &next.BootstrapIPs)
				case "faults":
					next.Faults = nil
					if err = json.Unmarshal(raw, &next.Faults); err == nil {
						for _, rule := range next.Faults {
							if !faultOps[rule.Op] {
								err = fmt.Errorf("unknown fault op %q", rule.Op)
								break
							}
							if rule.re, err = regexp.Compile(rule.Match); err != nil {
								break
							}
						}
					}
				default:
					err = fmt.Errorf("unknown setting %q", key)
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				state = next
			}
			stateMu.Unlock()
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, snapshotState())
		case r.URL.Path == "/ixnode-test/reset" && r.Method == http.MethodPost:
			stateMu.Lock()
			state = initialState
			state.Faults = nil
			bootstrapIdx = 0
			stateMu.Unlock()
			writeJSON(w, http.StatusOK, snapshotState())
		case r.URL.Path == "/ixnode-test/guest-ip" && r.Method == http.MethodPost:
			var body struct {
				VM string `json:"vm"`
				IP string `json:"ip"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.VM == "" {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "expected {\"vm\": name, \"ip\": address}"})
				return
			}
			vm := findVMByName(body.VM)
			if vm == nil {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "no VM named " + body.VM})
				return
			}
			simulator.Map.WithLock(vm, func() { simulator.Map.Update(vm.inner(), vm.guestIPChanges(body.IP)) })
			writeJSON(w, http.StatusOK, map[string]string{"vm": body.VM, "ip": body.IP})
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control route"})
		}
	}
}

// ---------------------------------------------------------------------------------------------------------
// TLS and start-up

func selfSignedCertificate(host string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"IXNode test vcsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP(host)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
}

func colonHex(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func createTemplates(names []string) error {
	source := findVMByName("DC0_H0_VM0")
	if source == nil {
		return fmt.Errorf("model has no DC0_H0_VM0 to make templates from")
	}
	folder := *source.Parent
	for _, name := range names {
		req := &types.CloneVM_Task{
			This:   source.Self,
			Folder: folder,
			Name:   name,
			Spec: types.VirtualMachineCloneSpec{
				Location: types.VirtualMachineRelocateSpec{Pool: source.ResourcePool},
				Template: true,
			},
		}
		ctx := &simulator.Context{
			Context: context.Background(),
			Map:     simulator.Map,
			Session: &simulator.Session{UserSession: types.UserSession{UserName: "vcsim"}, Registry: simulator.NewRegistry()},
		}
		body := source.inner().CloneVMTask(ctx, req)
		if f := body.Fault(); f != nil {
			return fmt.Errorf("template %s: %s", name, f.String)
		}
		res, fault := innerTaskResult(body.(*methods.CloneVM_TaskBody).Res.Returnval)
		if fault != nil {
			return fmt.Errorf("template %s: %T", name, fault)
		}
		wrapVM(res.(types.ManagedObjectReference))
	}
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback host:port to serve on (port 0: pick a free one)")
	templates := flag.String("templates", "", "comma-separated names of VM templates to create at start-up")
	certOut := flag.String("cert-out", "", "write the server certificate (PEM) to this file")
	cloneDelay := flag.Duration("clone-delay", 0, "time each CloneVM_Task takes")
	shutdownDelay := flag.Duration("shutdown-delay", 0, "time the guest takes to shut down after ShutdownGuest")
	bootstrap := flag.String("bootstrap-ips", "", "comma-separated addresses powered-on VMs take when not customized")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatalf("-listen: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("-listen must be a loopback address (127.0.0.0/8 or ::1), got %q", host)
	}
	user := os.Getenv("VCSIM_USER")
	password := os.Getenv("VCSIM_PASSWORD")
	if user == "" || password == "" {
		log.Fatal("set VCSIM_USER and VCSIM_PASSWORD")
	}

	initialState = controlState{
		CloneDelayMS:    int(cloneDelay.Milliseconds()),
		ShutdownDelayMS: int(shutdownDelay.Milliseconds()),
	}
	if *bootstrap != "" {
		initialState.BootstrapIPs = strings.Split(*bootstrap, ",")
	}
	state = initialState

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		log.Fatalf("creating the inventory: %v", err)
	}
	for _, entity := range simulator.Map.All("VirtualMachine") {
		wrapVM(entity.Reference())
	}
	if *templates != "" {
		if err := createTemplates(strings.Split(*templates, ",")); err != nil {
			log.Fatalf("creating templates: %v", err)
		}
	}

	cert, der, err := selfSignedCertificate(host)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	if *certOut != "" {
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := ioutil.WriteFile(*certOut, data, 0o644); err != nil {
			log.Fatalf("-cert-out: %v", err)
		}
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	model.Service.Listen = &url.URL{Host: net.JoinHostPort(host, port), User: url.UserPassword(user, password)}
	model.Service.HandleFunc("/ixnode-test/", controlHandler(user, password))

	server := model.Service.NewServer()
	addr := server.Listener.Addr().(*net.TCPAddr)
	sha1sum := sha1.Sum(der) //nolint:gosec
	sha256sum := sha256.Sum256(der)
	u := *server.URL
	u.User = nil
	out, _ := json.Marshal(map[string]interface{}{
		"url":               u.String(),
		"host":              host,
		"port":              addr.Port,
		"thumbprint_sha1":   colonHex(sha1sum[:]),
		"thumbprint_sha256": colonHex(sha256sum[:]),
	})
	fmt.Println(string(out))
	_ = os.Stdout.Sync()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	server.Close()
	model.Remove()
}
