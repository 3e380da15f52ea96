/* nexp.h — everything: include this one header to use the library.
 *
 *   #include <nexp.h>
 *   nexp_error err = NEXP_ERROR_INIT;
 *   nexp_field *flow = NULL;
 *   if (nexp_field_read("in.flo", &flow, &err) != NEXP_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   nexp_field_free(flow);
 */
#ifndef NEXP_H
#define NEXP_H

#include "nexp_checkpoint.h"
#include "nexp_core.h"
#include "nexp_csv.h"
#include "nexp_diffusion.h"
#include "nexp_field.h"
#include "nexp_flowdata.h"
#include "nexp_flowmetrics.h"
#include "nexp_h5.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_layers.h"
#include "nexp_learned.h"
#include "nexp_learned_train.h"
#include "nexp_mask.h"
#include "nexp_mlp.h"
#include "nexp_net.h"
#include "nexp_node.h"
#include "nexp_node_train.h"
#include "nexp_ode.h"
#include "nexp_optim.h"
#include "nexp_params.h"
#include "nexp_plot.h"
#include "nexp_progress.h"
#include "nexp_rng.h"
#include "nexp_scene.h"
#include "nexp_spectral.h"
#include "nexp_status.h"

#endif
