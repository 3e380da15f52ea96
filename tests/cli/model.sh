#!/usr/bin/env bash
# nexp model init / info: checkpoints of fresh networks, JSON description, clear errors.
. "$(dirname "$0")/lib.sh.inc"

json_ok() {
  python3 -c "import json,sys; j=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)"
}
one_line_naming() {
  [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^nexp model: .*$1" "$T/err"
}

check "model --help exits 0" 0 "$NEXP" model --help
expect "model --help shows usage and an example" grep -q "Example" "$T/out"

check "init an MLP" 0 "$NEXP" model init --mlp "2 50:tanh 2:identity" --seed 3 --out "$T/mlp.h5"
check "info --json on the MLP" 0 "$NEXP" model info "$T/mlp.h5" --json
expect "MLP JSON: spec, 252 parameters, 4 tensors, no optimiser" json_ok \
  "j['model']=='mlp' and j['spec']=='2 50:tanh 2:identity' and j['n_params']==252 and len(j['tensors'])==4 and j['tensors'][0]['shape']==[50,2] and j['optimiser'] is None and j['step']==0"

check "init a two-head U-Net" 0 "$NEXP" model init --unet --widths 12,24,48 --out-channels 4 --heads 0,1 --out "$T/unet.h5"
check "info on the U-Net" 0 "$NEXP" model info "$T/unet.h5" --json
expect "U-Net JSON: net with 58988 parameters" json_ok "j['model']=='net' and j['n_params']==58988"
check "same seed, same file contents" 0 "$NEXP" model init --unet --widths 12,24,48 --out-channels 4 --heads 0,1 --out "$T/unet2.h5"
expect "parameters are identical for the same seed" /usr/bin/python3 -c "
import h5py, numpy as np, sys
a, b = h5py.File('$T/unet.h5'), h5py.File('$T/unet2.h5')
sys.exit(0 if all(np.array_equal(a['params'][k][()], b['params'][k][()]) for k in a['params']) else 1)"

check "init without a model is a usage error" 2 "$NEXP" model init --out "$T/x.h5"
check "init with both models is a usage error" 2 "$NEXP" model init --unet --mlp "1 1:tanh" --out "$T/x.h5"
check "init with a bad activation is a usage error" 2 "$NEXP" model init --mlp "2 50:swish" --out "$T/x.h5"
expect "the message names the activation" grep -q "swish" "$T/err"
check "init with heads below the depth is a usage error" 2 "$NEXP" model init --unet --widths 8,16 --heads 3 --out "$T/x.h5"
check "unknown action is a usage error" 2 "$NEXP" model train
check "info on a missing file" 1 "$NEXP" model info "$T/missing.h5"
expect "missing file: one line naming it" one_line_naming "missing.h5"
head -c 700 "$T/mlp.h5" >"$T/trunc.h5"
check "info on a truncated checkpoint" 1 "$NEXP" model info "$T/trunc.h5"
expect "truncated: one line naming it" one_line_naming "trunc.h5"
printf 'not hdf5 at all' >"$T/junk.h5"
check "info on a non-HDF5 file" 1 "$NEXP" model info "$T/junk.h5"
finish
