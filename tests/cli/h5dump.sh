#!/bin/bash
# HDF5 files written by nexp read naturally with the standard h5dump tool (hdf5-tools): plain
# datasets with the documented names, shapes, types and attributes.
. "$(dirname "$0")/lib.sh.inc"
SINTEL="$DATA/flow/sintel-alley/flow_0002.flo"

check "convert .flo -> .h5" 0 "$NEXP" convert "$SINTEL" "$T/flow.h5" --dataset gt/flow
check "h5dump reads the header" 0 h5dump -H "$T/flow.h5"
cp "$T/out" "$T/header"
has() { grep -q -- "$1" "$T/header"; }
expect "group gt" has 'GROUP "gt"'
expect "dataset flow" has 'DATASET "flow"'
expect "float32 little-endian" has 'H5T_IEEE_F32LE'
expect "shape (channels, height, width)" has 'SIMPLE { ( 2, 436, 1024 ) / ( 2, 436, 1024 ) }'
expect "kind attribute" has 'ATTRIBUTE "kind"'
expect "spacing attribute" has 'ATTRIBUTE "spacing"'
expect "time attribute" has 'ATTRIBUTE "time"'
check "h5dump reads the kind" 0 h5dump -a /gt/flow/kind "$T/flow.h5"
expect "kind is flow" grep -q '"flow"' "$T/out"
check "h5dump shows the storage layout" 0 h5dump -p -H "$T/flow.h5"
expect "deflate-compressed" grep -q 'DEFLATE' "$T/out"
expect "chunked" grep -q 'CHUNKED' "$T/out"
check "h5dump reads values" 0 h5dump -d /gt/flow -s 0,0,0 -c 1,1,4 "$T/flow.h5"
expect "no unknown vectors: no _valid dataset" test "$(grep -c '_valid' "$T/header")" -eq 0
finish
