/* make_corpus DIR — seed corpora for the fuzz targets, written by nexp's own writers.
 *
 * Creates DIR/<target>/ for every target in tests/fuzz and writes a few small valid files of the
 * kind that target reads (tiny fields so that each execution stays fast): .flo with and without
 * unknown vectors, PNG of 1-4 channels at 8 and 16 bit, P5/P6 at 8 and 16 bit, Pf/PF, a KITTI
 * flow PNG, HDF5 fields, series, trajectories, arrays of every type with attributes and records,
 * MLP, net and neural ODE checkpoints, CSV series and model spec texts. Exits 1 with a message on the first failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nexp_checkpoint.h"
#include "nexp_csv.h"
#include "nexp_h5.h"
#include "nexp_io.h"

#define PATH_LEN 4096

static const char *out_dir;
static nexp_error err = NEXP_ERROR_INIT;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, err.msg[0] ? err.msg : strerror(errno));
    exit(1);
}

static void check(nexp_status st, const char *what)
{
    if (st != NEXP_OK) {
        die(what);
    }
}

/* "<out_dir>/<target>/<name>", creating the target's directory. */
static const char *seed(const char *target, const char *name)
{
    static char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        die(path);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    return path;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
        die(path);
    }
}

/* A w x h field of c channels with "high-entropy" values scaled to 0..scale. */
static nexp_field *make_field(int w, int h, int c, float scale)
{
    nexp_field *f = NULL;
    check(nexp_field_create(&f, w, h, c, &err), "field");
    for (int k = 0; k < c; k++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float v = (float)((x * 7 + y * 13 + k * 29) % 17) / 16.0f;
                nexp_field_row(f, k, y)[x] = v * scale;
            }
        }
    }
    return f;
}

static void flo_seeds(void)
{
    nexp_field *f = make_field(5, 3, 2, 4.0f);
    f->kind = NEXP_KIND_FLOW;
    check(nexp_flo_write(seed("flo", "dense.flo"), f, &err), "flo");
    check(nexp_field_ensure_mask(f, &err), "flo mask");
    f->mask[1 * f->stride + 2] = 0;
    check(nexp_flo_write(seed("flo", "unknown.flo"), f, &err), "flo");
    nexp_field_free(f);
}

static void image_seeds(void)
{
    char name[64];
    for (int c = 1; c <= 4; c++) {
        for (int depth = 8; depth <= 16; depth += 8) {
            nexp_field *f = make_field(4, 3, c, depth == 8 ? 255.0f : 65535.0f);
            snprintf(name, sizeof name, "c%d_%d.png", c, depth);
            check(nexp_png_write(seed("png", name), f, depth, &err), "png");
            if (c == 1 || c == 3) {
                snprintf(name, sizeof name, "c%d_%d.pnm", c, depth);
                check(nexp_pnm_write(seed("pnm", name), f, depth, &err), "pnm");
                snprintf(name, sizeof name, "c%d.pfm", c);
                check(nexp_pfm_write(seed("pfm", name), f, &err), "pfm");
            }
            nexp_field_free(f);
        }
    }
    write_text(seed("pnm", "comment.pgm"), "P5\n# a comment\n3 2\n# another\n9\n\x01\x02\x03\x04\x05\x09");
}

/* KITTI: u = (R - 2^15) / 64, v = (G - 2^15) / 64, B = valid. */
static void kitti_seeds(void)
{
    nexp_field *f = make_field(4, 3, 3, 1.0f);
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            nexp_field_row(f, 0, y)[x] = 32768.0f + 64.0f * (float)(x - y) * 1.5f;
            nexp_field_row(f, 1, y)[x] = 32768.0f - 64.0f * (float)x * 0.25f;
            nexp_field_row(f, 2, y)[x] = (float)((x + y) % 3 != 0);
        }
    }
    check(nexp_png_write(seed("kitti", "flow.png"), f, 16, &err), "kitti");
    nexp_field_free(f);
}

static void h5_field_seeds(void)
{
    nexp_field *f = make_field(5, 3, 2, 3.0f);
    f->kind = NEXP_KIND_FLOW;
    check(nexp_field_ensure_mask(f, &err), "mask");
    f->mask[2] = 0;
    nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;
    a.units = "px";
    a.metadata = "make_corpus";
    a.time = 0.25;
    check(nexp_h5_write_field(seed("h5_field", "flow.h5"), "field", f, &a, &err), "h5 field");
    nexp_field_free(f);

    f = make_field(4, 3, 1, 255.0f);
    f->kind = NEXP_KIND_IMAGE;
    f->bit_depth = 8;
    check(nexp_h5_write_field(seed("h5_field", "image.h5"), "field", f, NULL, &err), "h5 image");
    nexp_h5_series *s = NULL;
    check(nexp_h5_series_create(&s, seed("h5_field", "series.h5"), "field", 4, 3, 1, NULL, &err), "series");
    for (int k = 0; k < 3; k++) {
        check(nexp_h5_series_append(s, f, 0.5 * k, &err), "series append");
    }
    check(nexp_h5_series_close(s, &err), "series close");
    nexp_field_free(f);
}

static void h5_array_seeds(void)
{
    nexp_h5_file *h = NULL;
    check(nexp_h5_create(&h, seed("h5_array", "arrays.h5"), &err), "h5 create");
    double d[6] = { 2.385, -1.5, 0.25, 1e-3, 7.0, -0.0 };
    float fl[6] = { 1.5f, -2.25f, 3.0f, 0.125f, 9.5f, -4.0f };
    int64_t i64[3] = { -7, 0, 123456789012LL };
    uint64_t u64[2] = { 1, 18446744073709551615ULL };
    uint8_t u8[4] = { 0, 1, 254, 255 };
    size_t d23[2] = { 2, 3 }, d6[1] = { 6 }, d3[1] = { 3 }, d2[1] = { 2 }, d4[1] = { 4 };
    check(nexp_h5_write_array(h, "a/doubles", NEXP_H5_DOUBLE, 2, d23, d, &err), "doubles");
    check(nexp_h5_write_array(h, "a/b/floats", NEXP_H5_FLOAT, 1, d6, fl, &err), "floats");
    check(nexp_h5_write_array(h, "ints", NEXP_H5_INT64, 1, d3, i64, &err), "ints");
    check(nexp_h5_write_array(h, "uints", NEXP_H5_UINT64, 1, d2, u64, &err), "uints");
    check(nexp_h5_write_array(h, "bytes", NEXP_H5_UINT8, 1, d4, u8, &err), "bytes");
    check(nexp_h5_write_array(h, "scalar", NEXP_H5_DOUBLE, 0, NULL, d, &err), "scalar");
    size_t rec[1] = { 2 };
    for (int k = 0; k < 3; k++) {
        check(nexp_h5_append(h, "traj/y", NEXP_H5_DOUBLE, 1, rec, d + k, &err), "append");
        check(nexp_h5_append(h, "traj/t", NEXP_H5_DOUBLE, 0, NULL, d + k, &err), "append");
    }
    check(nexp_h5_write_attr_string(h, "/", "metadata", "make_corpus", &err), "attr");
    check(nexp_h5_write_attr_int64(h, "/", "step", 1200, &err), "attr");
    check(nexp_h5_write_attr_double(h, "a/doubles", "spacing", 0.5, &err), "attr");
    check(nexp_h5_write_attr_doubles(h, "a", "time", d, 3, &err), "attr");
    check(nexp_h5_write_attr_string(h, "ints", "units", "counts", &err), "attr");
    nexp_field *f = make_field(3, 2, 2, 1.0f);
    check(nexp_h5_put_field(h, "field", f, NULL, &err), "put field");
    nexp_field_free(f);
    check(nexp_h5_commit(h, &err), "h5 commit");
    nexp_h5_close(h);
}

static void checkpoint_seeds(void)
{
    nexp_mlp_spec ms;
    check(nexp_mlp_spec_init(&ms, 2, 3, 1, 2, NEXP_ACT_TANH, &err), "mlp spec");
    nexp_mlp *m = NULL;
    check(nexp_mlp_create(&ms, 42, &m, &err), "mlp");
    nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
    nexp_optim *opt = NULL;
    check(nexp_optim_create(&cfg, m->n_params, &opt, &err), "optim");
    nexp_rng rng;
    nexp_rng_seed(&rng, 7);
    nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
    st.step = 3;
    st.rng = &rng;
    st.metadata = "make_corpus";
    check(nexp_checkpoint_save_mlp(seed("checkpoint", "mlp.h5"), m, opt, &st, &err), "save mlp");
    check(nexp_checkpoint_save_mlp(seed("checkpoint", "mlp_bare.h5"), m, NULL, NULL, &err), "save mlp");
    char text[256];
    nexp_mlp_spec_format(&ms, text, sizeof text);
    write_text(seed("spec", "mlp.txt"), text);
    nexp_optim_free(opt);
    nexp_mlp_free(m);

    nexp_net_spec *ns = malloc(sizeof *ns);
    check(nexp_net_spec_begin(ns, 1, &err), "net spec");
    int a = nexp_net_add_conv(ns, 0, 2, 3, 1, NEXP_PAD_REPLICATE, NEXP_ACT_RELU, &err);
    int b = a >= 0 ? nexp_net_add_simple(ns, NEXP_NET_AVGPOOL, a, NEXP_ACT_IDENTITY, &err) : a;
    int c = b >= 0 ? nexp_net_add_tconv(ns, b, 2, 2, 2, NEXP_ACT_IDENTITY, &err) : b;
    int d = c >= 0 ? nexp_net_add_concat(ns, a, c, &err) : c;
    int e = d >= 0 ? nexp_net_add_conv(ns, d, 1, 1, 1, NEXP_PAD_ZERO, NEXP_ACT_IDENTITY, &err) : d;
    if (e < 0 || nexp_net_mark_head(ns, e, &err) < 0) {
        die("net spec");
    }
    nexp_net *net = NULL;
    check(nexp_net_create(ns, 5, &net, &err), "net");
    check(nexp_optim_create(&cfg, net->n_params, &opt, &err), "optim");
    check(nexp_checkpoint_save_net(seed("checkpoint", "net.h5"), net, opt, &st, &err), "save net");
    int len = nexp_net_spec_format(ns, NULL, 0);
    char *buf = malloc((size_t)len + 1);
    nexp_net_spec_format(ns, buf, (size_t)len + 1);
    write_text(seed("spec", "net.txt"), buf);
    free(buf);
    nexp_optim_free(opt);
    nexp_net_free(net);
    free(ns);

}

/* In make_corpus_node.c: models/nexp_node.h cannot be included beside nn/nexp_net.h. */
void make_corpus_node_seeds(const char *node_path, const char *bare_path, const char *csv_path);

static void csv_seeds(void)
{
    const char *names[4] = { "t", "x", "y", "subject" };
    double rows[6][4] = { { 0.0, 1.5, -2.25, 1 }, { 0.5, 1.25, -2.0, 1 }, { 1.25, 0.75, -1.5, 1 },
                          { 0.0, 2.385, 0.125, 2 }, { 1.0, 2.0, 0.25, 2 }, { 3.0, 1.0, 1e-3, 2 } };
    check(nexp_csv_write(seed("csv", "groups.csv"), names, 4, &rows[0][0], 6, &err), "csv");
    check(nexp_csv_write(seed("csv", "plain.csv"), names, 3, &rows[0][0], 3, &err), "csv");
    double t[3] = { 0.0, 0.5, 1.25 }, Y[6] = { 1.5, -2.25, 1.25, -2.0, 0.75, -1.5 };
    check(nexp_trajectory_write(seed("h5_field", "trajectory.h5"), "t", "x,y", t, Y, 3, 2, "make_corpus", &err),
          "trajectory");
    write_text(seed("csv", "quoted.csv"),
               "\"t\",\"x\",\"y\",\"subject\"\n0,1,2,\"a, b\"\n\n1,1.5,2e-1,\"a, b\"\n0,3,4,\"c\"\n2,5,6,\"c\"\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        die(out_dir);
    }
    flo_seeds();
    image_seeds();
    kitti_seeds();
    h5_field_seeds();
    h5_array_seeds();
    csv_seeds();
    checkpoint_seeds();
    char node[PATH_LEN], bare[PATH_LEN], csv[PATH_LEN];
    snprintf(node, sizeof node, "%s", seed("node", "node.h5"));
    snprintf(bare, sizeof bare, "%s", seed("node", "node_bare.h5"));
    snprintf(csv, sizeof csv, "%s", seed("csv", "groups.csv"));
    make_corpus_node_seeds(node, bare, csv);
    return 0;
}
