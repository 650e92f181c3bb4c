package reliability

import (
	"context"
	"errors"
)

var errTODO = errors.New("not written yet")

func slowClients(context.Context, *Env) []Row    { return failed("slow", "", errTODO) }
func storedMemory(context.Context, *Env) []Row   { return failed("mem", "", errTODO) }
func plantedSecrets(context.Context, *Env) []Row { return failed("secrets", "", errTODO) }
func shadowLatency(context.Context, *Env) []Row  { return failed("shadow", "", errTODO) }
func adminAuth(context.Context, *Env) []Row      { return failed("admin", "", errTODO) }
