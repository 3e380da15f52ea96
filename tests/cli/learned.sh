#!/usr/bin/env bash
# nexp train-inpaint and nexp inpaint --method learned: train, resume, interrupt, inpaint, export.
. "$(dirname "$0")/lib.sh.inc"
C="$DATA/flow/chairs-crops/00001_flow.flo"
I="$DATA/flow/chairs-crops/00001_img1.ppm"
TINY="--crop 24 --batch 1 --features 4 --levels 2 --steps 6 --seed 5 --threads 1"

check "train help" 0 "$NEXP" train-inpaint --help
expect "train help teaches resume and an example" grep -q -- "--resume" "$T/out"
check "train without --ckpt is a usage error" 2 "$NEXP" train-inpaint --iters 2
check "bad density range is a usage error" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --density 0.2:0.1
check "a missing data folder is a runtime error" 1 "$NEXP" train-inpaint --ckpt "$T/x.h5" --data "$T/none"
expect "no checkpoint is left after a failed start" test ! -e "$T/x.h5"
check "an unwritable --ckpt folder fails before training" 1 "$NEXP" train-inpaint --ckpt "$T/none/x.h5" --iters 2
expect "  ... naming the folder, before any step" sh -c "grep -q \"cannot create a temporary file in '$T/none'\" '$T/err' && ! grep -q 'step' '$T/err'"

check "train 4 steps" 0 "$NEXP" train-inpaint --ckpt "$T/a.h5" --iters 4 --val-every 2 $TINY
expect "validation compares with homogeneous" grep -q "validation EPE .* (homogeneous" "$T/err"
expect "progress shows it/s" grep -q "it/s" "$T/err"
expect "new models read the flow by default" grep -q "image+flow-fed" "$T/err"
check "model info describes a train-inpaint checkpoint" 0 "$NEXP" model info "$T/a.h5" --json
expect "kind, spec, step and optimiser" grep -q '"model": "learned-inpaint", "spec": "features 4, levels 2, steps 6, reads image+flow, zero padding".*"step": 4, "optimiser": {"kind": "adam"' "$T/out"
expect "  ... and the options it was trained with" grep -q "trained with --data synthetic --crop 24 --batch 1 --density 0.01:0.1 --photometric off --lr 0.006 --seed 5 --iters 4" "$T/out"
check "train on scenes with edges that are no motion boundaries" 0 "$NEXP" train-inpaint --ckpt "$T/e.h5" \
  --iters 2 --val-every 2 --data synthetic-edges $TINY
check "train on scenes with a few fast objects" 0 "$NEXP" train-inpaint --ckpt "$T/fast.h5" \
  --iters 2 --val-every 0 --data synthetic-fast $TINY
mkdir -p "$T/photos"
"$NEXP" scene --seed 3 --width 64 --height 64 --out-dir "$T/photoscene" >/dev/null 2>&1
cp "$T/photoscene/frame1.png" "$T/photos/a.png"
check "train on scenes in front of photos" 0 "$NEXP" train-inpaint --ckpt "$T/ph.h5" \
  --iters 2 --val-every 0 --data "photos:$T/photos" $TINY
check "train on a mix of photo and procedural scenes" 0 "$NEXP" train-inpaint --ckpt "$T/mix.h5" \
  --iters 2 --val-every 0 --data "mixed:$T/photos" $TINY
check "an empty photo folder is refused" 1 "$NEXP" train-inpaint --ckpt "$T/ph2.h5" --iters 2 \
  --data "photos:$T/photoscene/none" $TINY
expect "the refusal names the folder" grep -q "photos:$T/photoscene/none" "$T/err"
expect "no checkpoint is left" test ! -e "$T/ph2.h5"
check "resume with the plain scenes is refused" 1 "$NEXP" train-inpaint --ckpt "$T/e.h5" --iters 3 --resume \
  --data synthetic $TINY
expect "the refusal names the data" grep -q "synthetic-edges" "$T/err"
check "--photometric takes on or off" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --photometric yes
check "train with photometric changes" 0 "$NEXP" train-inpaint --ckpt "$T/p.h5" --iters 2 --val-every 0 \
  --photometric on $TINY
expect "the start line says so" grep -q "photometric on" "$T/err"
check "resume without them is refused" 1 "$NEXP" train-inpaint --ckpt "$T/p.h5" --iters 3 --resume \
  --photometric off $TINY
expect "the refusal names the option" grep -q -- "--photometric on, not off" "$T/err"
check "resume with them continues" 0 "$NEXP" train-inpaint --ckpt "$T/p.h5" --iters 3 --resume --val-every 0 \
  --photometric on $TINY
check "resume with --ckpt alone takes the options from the checkpoint" 0 "$NEXP" train-inpaint --ckpt "$T/p.h5" \
  --resume --iters 4 --val-every 0 --threads 1
expect "  ... crop, batch and photometric changes among them" grep -q "crop 24, batch 1 .* photometric on, from step 3 to 4" "$T/err"
expect "  ... and its progress counts the steps done before" grep -q "train-inpaint: 4/4 (100%)" "$T/err"
cp "$T/p.h5" "$T/p_done.h5"
check "resume a finished run" 0 "$NEXP" train-inpaint --ckpt "$T/p.h5" --resume --threads 1
expect "  ... says there is nothing to do and leaves it" sh -c \
  "grep -q 'at step 4 of 4 already: nothing to do' '$T/err' && cmp -s '$T/p.h5' '$T/p_done.h5'"
check "resume with another density is refused" 1 "$NEXP" train-inpaint --ckpt "$T/p.h5" --resume --iters 5 \
  --density 0.02:0.1
expect "  ... naming both ranges" grep -q -- "--density 0.01:0.1, not 0.02:0.1" "$T/err"
SPLIT="--crop 24 --batch 2 --features 4 --levels 2 --steps 6 --seed 5 --val-every 0"
check "train with the batch spread over 2 threads" 0 "$NEXP" train-inpaint --ckpt "$T/t2.h5" --iters 2 $SPLIT \
  --threads 2
expect "the start line names the split" grep -q "batch 2 on 2 thread(s)" "$T/err"
check "model info of that checkpoint" 0 "$NEXP" model info "$T/t2.h5"
expect "says how to resume it bit-identically" grep -q "split over 2 thread(s) (--resume --threads 2" "$T/out"
check "resume it on 2 threads" 0 "$NEXP" train-inpaint --ckpt "$T/t2.h5" --iters 3 --resume $SPLIT --threads 2
expect "without a warning" sh -c "! grep -q warning '$T/err'"
check "resume it on 1 thread" 0 "$NEXP" train-inpaint --ckpt "$T/t2.h5" --iters 4 --resume $SPLIT --threads 1
expect "a warning says the run is no longer bit-identical" grep -q "over 2 thread(s), this run over 1" "$T/err"
check "--flow-input takes on or off" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --flow-input 1
check "train an image-fed model" 0 "$NEXP" train-inpaint --ckpt "$T/f.h5" --iters 2 --val-every 2 \
  --flow-input off $TINY
expect "the start line says what the network reads" grep -q " image-fed" "$T/err"
check "train a cascade model with mirrored padding" 0 "$NEXP" train-inpaint --ckpt "$T/cas.h5" --iters 2 \
  --val-every 2 --cascade on --padding mirror $TINY
expect "  ... the start line says so" grep -q "image+flow-fed, cascade, mirror padding)" "$T/err"
check "  ... model info says what it reads" 0 "$NEXP" model info "$T/cas.h5"
expect "  ... the coarser level's features and the padding" grep -q "coarser level's features, mirror padding" "$T/out"
check "--cascade takes on or off" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --cascade yes
check "--padding takes zero or mirror" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --padding reflect
check "--cascade with --init is a usage error" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --init "$T/a.h5" \
  --cascade on
check "resume with another crop is refused" 1 "$NEXP" train-inpaint --ckpt "$T/a.h5" --iters 6 --resume \
  --crop 32 --batch 1 --seed 5 --threads 1
expect "the refusal names the option" grep -q -- "--crop 24" "$T/err"

check "train with thin bars" 0 "$NEXP" train-inpaint --ckpt "$T/thin.h5" --iters 2 --val-every 0 --thin 0.5 $TINY
expect "the start line says so" grep -q "data synthetic with thin bars" "$T/err"
check "resume without them is refused" 1 "$NEXP" train-inpaint --ckpt "$T/thin.h5" --iters 3 --resume --thin 0 \
  $TINY
expect "the refusal names the option" grep -q -- "--thin 0.5, not 0" "$T/err"
check "thin bars on a folder of pairs are refused" 1 "$NEXP" train-inpaint --ckpt "$T/x.h5" --thin 0.5 \
  --data "$DATA/flow/chairs-crops" $TINY
expect "  ... saying why" grep -q "thin bars need rendered scenes" "$T/err"
INIT="--crop 24 --batch 1 --seed 6 --threads 1 --val-every 0"
check "fine-tune a model with --init" 0 "$NEXP" train-inpaint --ckpt "$T/ft.h5" --init "$T/a.h5" --iters 2 $INIT
expect "the start line names the model" grep -q "fine-tuning $T/a.h5 model" "$T/err"
check "the fine-tuned checkpoint" 0 "$NEXP" model info "$T/ft.h5"
expect "  ... has the model's shape and its own steps" sh -c \
  "grep -q 'features 4, levels 2, steps 6' '$T/out' && grep -q 'step 2\\b' '$T/out'"
check "--init with a shape option is a usage error" 2 "$NEXP" train-inpaint --ckpt "$T/x.h5" --init "$T/a.h5" \
  --features 8
expect "  ... naming it" grep -q -- "--features: the model's shape comes from --init" "$T/err"
check "--init with --resume is a usage error" 2 "$NEXP" train-inpaint --ckpt "$T/ft.h5" --init "$T/a.h5" --resume
check "--init with a missing model" 1 "$NEXP" train-inpaint --ckpt "$T/x.h5" --init "$T/none.h5" $INIT
expect "  ... names it, and no checkpoint is left" sh -c "grep -q '$T/none.h5' '$T/err' && test ! -e '$T/x.h5'"

# train -> Ctrl-C -> --resume gives the weights of an uninterrupted run (shorter under valgrind)
ITERS=300
if [ "${NEXP_VALGRIND:-0}" = 1 ]; then ITERS=40; fi
check "train $ITERS steps" 0 "$NEXP" train-inpaint --ckpt "$T/full.h5" --iters $ITERS --val-every 0 -q $TINY
"$NEXP" train-inpaint --ckpt "$T/c.h5" --iters $ITERS --val-every 0 --save-every 7 -q $TINY >"$T/int.out" 2>"$T/int.err" &
pid=$!
# interrupt once the first checkpoint exists (the handler is installed by then, even under valgrind)
for _ in $(seq 600); do [ -s "$T/c.h5" ] && break; sleep 0.1; done
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
expect "an interrupted run exits 130 after saving (or finished first)" test $rc -eq 130 -o $rc -eq 0
if [ $rc -eq 130 ]; then
  expect "an interrupted run says how to continue" grep -q "continue with --resume" "$T/int.err"
fi
expect "an interrupted run leaves a checkpoint" test -s "$T/c.h5"
check "resume after the interrupt" 0 "$NEXP" train-inpaint --ckpt "$T/c.h5" --iters $ITERS --val-every 0 --resume $TINY
if command -v h5dump >/dev/null; then
  h5dump -g model "$T/full.h5" | tail -n +2 >"$T/a.txt" 2>&1
  h5dump -g model "$T/c.h5" | tail -n +2 >"$T/b.txt" 2>&1
  expect "interrupted + resumed weights equal the uninterrupted ones" cmp -s "$T/a.txt" "$T/b.txt"
fi
"$NEXP" mask --like "$C" --density 0.1 --seed 2 -q "$T/m.png"
check "inpaint learned" 0 "$NEXP" inpaint --method learned --model "$T/a.h5" --flow "$C" --image "$I" \
  --mask "$T/m.png" --out "$T/d.flo" --export-tensor "$T/t.h5"
expect "the result and the tensors are written" test -s "$T/d.flo" -a -s "$T/t.h5" -a -s "$T/t.png"
check "the tensor file reads back" 0 "$NEXP" info "$T/t.h5"
expect "2 levels x 5 channels" grep -q "10" "$T/out"
check "inpaint with the image-fed model and export its tensors" 0 "$NEXP" inpaint --method learned \
  --model "$T/f.h5" --flow "$C" --image "$I" --mask "$T/m.png" --out "$T/df.flo" --export-tensor "$T/tf.h5"
expect "its result and tensors are written" test -s "$T/df.flo" -a -s "$T/tf.h5" -a -s "$T/tf.png"
check "inpaint with the cascade model and export its tensors" 0 "$NEXP" inpaint --method learned \
  --model "$T/cas.h5" --flow "$C" --image "$I" --mask "$T/m.png" --out "$T/dc.flo" --export-tensor "$T/tc.h5"
expect "its result and tensors are written" test -s "$T/dc.flo" -a -s "$T/tc.h5" -a -s "$T/tc.png"
check "learned needs the image" 2 "$NEXP" inpaint --method learned --flow "$C" --mask "$T/m.png" --out "$T/x.flo"
check "--model only with learned" 2 "$NEXP" inpaint --method eed --model "$T/a.h5" --flow "$C" --image "$I" \
  --out "$T/x.flo"
check "a model file that is not a model" 1 "$NEXP" inpaint --method learned --model "$T/t.h5" --flow "$C" \
  --image "$I" --mask "$T/m.png" --out "$T/x.flo"
if [ -e "${NEXP_SOURCE_DIR:-.}/data/inpaint-model.h5" ]; then
  check "the shipped model is the default" 0 "$NEXP" inpaint --method learned --flow "$C" --image "$I" \
    --mask "$T/m.png" --out "$T/s.flo"
  expect "it names the shipped model" grep -q "inpaint-model.h5" "$T/err"
  SCENE=320x240 # a smaller scene under valgrind: the shipped model runs 1500 steps
  if [ "${NEXP_VALGRIND:-0}" = 1 ]; then SCENE=96x72; fi
  check "the example scores three methods on a synthetic scene" 0 \
    bash "${NEXP_SOURCE_DIR}/examples/learned_inpaint.sh" "$NEXP" "$T/example" 4 0.05 $SCENE
  expect "the example prints an EPE per method" test "$(grep -cE '^(homogeneous|eed|learned) +[0-9]' "$T/out")" -eq 3
fi
finish
