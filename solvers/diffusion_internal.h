/* diffusion_internal.h — shared internals of the diffusion drivers (not installed). */
#ifndef NEXP_DIFFUSION_INTERNAL_H
#define NEXP_DIFFUSION_INTERNAL_H

#include "nexp_diffusion.h"
#include "nexp_spectral.h"
#include "stencil_internal.h"

/* Edge weights plus the cell planes they were made from (ca, cb, cc, cal), which also serve as
 * workspace: structure tensors while a tensor is built, cell gradients in a backward pass. */
struct nexp_delta_weights {
    nexp_grid g;
    float *mem;        /* 4 weight planes of (h + 1) rows, then 4 cell planes of h rows */
    nexp_stencil_w w;
    float *ca, *cb, *cc, *cal;
    double bound;      /* explicit step bound of the current weights */
};

struct nexp_diffusion_plan {
    nexp_diffusion_params prm;
    nexp_grid g;
    int channels;
    size_t plane;             /* floats between channel planes of the fields it takes */
    nexp_delta_weights *dw;   /* weights and cell tensors */
    nexp_field *tmp, *prev;   /* step ping-pong and FSI's u_{k-1} (channels of u) */
    nexp_field *smooth;       /* u_sigma (channels of u), NULL when the tensor does not depend on u */
    nexp_dct_plan *dct_pix;   /* Gaussian sigma on the pixel grid, or NULL */
    nexp_dct_plan *dct_cell;  /* Gaussian rho on the (w - 1) x (h - 1) cell grid, or NULL */
    int tensor_ready;         /* weights hold the tensor of a guide, a given tensor or homogeneous */
    int guided;
};

/* w->bound from the cell tensors (cal NULL: constant alpha); NEXP_ERR_ARG for a non-PSD cell. */
nexp_status nexp_delta_weights_set_bound(nexp_delta_weights *w, const float *cal, float alpha, nexp_error *err);

/* Tensor of the plan's model from src (nc channels at the plan's stride and plane), into p->dw. */
nexp_status nexp_diffusion_tensor_from(nexp_diffusion_plan *p, const float *src, int nc, size_t plane,
                                       nexp_field *smooth, nexp_error *err);

/* The implicit scheme (diffusion_mol.c). */
nexp_status nexp_diffusion_mol(nexp_diffusion_plan *p, nexp_field *u, nexp_diffusion_run *run, int cycles,
                               int nonlinear, nexp_error *err);

#endif
