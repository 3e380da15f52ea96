#include "nexp_flowdata.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nexp_io.h"
#include "nexp_spectral.h"

/* "synthetic-fast": this share of the scenes has 1..4 smaller layers moving up to twice as fast */
#define SYNTH_FAST_SHARE 0.4
/* "photos:DIR": smaller images are skipped; "mixed:DIR": this share of the scenes is in front of photos */
#define PHOTO_MIN_SIDE 32
#define PHOTO_MIX_SHARE 0.5

struct nexp_flowdata {
    int synthetic;
    int fast_mix;  /* synthetic-fast */
    int photo_mix; /* mixed:DIR */
    nexp_scene_options scene;
    nexp_field **photos; /* "photos:DIR": nphotos RGB images, owned; scene.photos points here */
    int nphotos;
    size_t n;
    char **images, **flows; /* n pairs, owned */
};

void nexp_flowdata_free(nexp_flowdata *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        free(d->images[i]);
        free(d->flows[i]);
    }
    free(d->images);
    free(d->flows);
    for (int i = 0; i < d->nphotos; i++) {
        nexp_field_free(d->photos[i]);
    }
    free(d->photos);
    free(d);
}

nexp_status nexp_flowdata_open_synthetic(nexp_flowdata **out, const nexp_scene_options *opt, nexp_error *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory opening a data set");
    }
    (*out)->synthetic = 1;
    nexp_scene_options def = NEXP_SCENE_OPTIONS_INIT;
    (*out)->scene = opt != NULL ? *opt : def;
    return NEXP_OK;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static nexp_status add_pair(nexp_flowdata *d, size_t *cap, const char *image, const char *flow, nexp_error *err)
{
    if (d->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        char **ni = realloc(d->images, nc * sizeof *ni);
        if (ni == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory listing a data set");
        }
        d->images = ni;
        char **nf = realloc(d->flows, nc * sizeof *nf);
        if (nf == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory listing a data set");
        }
        d->flows = nf;
        *cap = nc;
    }
    d->images[d->n] = strdup(image);
    d->flows[d->n] = strdup(flow);
    if (d->images[d->n] == NULL || d->flows[d->n] == NULL) {
        free(d->images[d->n]);
        free(d->flows[d->n]);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory listing a data set");
    }
    d->n++;
    return NEXP_OK;
}

/* Add the pairs of one .flo file (name without the folder) by the rules in the header. */
static nexp_status pair_flo(nexp_flowdata *d, size_t *cap, const char *dir, const char *name, nexp_error *err)
{
    char flow[4096], img[4096 + 64], stem[4096];
    snprintf(flow, sizeof flow, "%s/%s", dir, name);
    size_t len = strlen(name) - 4; /* without ".flo" */
    snprintf(stem, sizeof stem, "%.*s", (int)len, name);
    int found = 0;
    unsigned num;
    char tail;
    if (sscanf(stem, "flow_%u%c", &num, &tail) == 1) {
        const char *passes[2] = { "clean", "final" };
        for (int p = 0; p < 2; p++) {
            snprintf(img, sizeof img, "%s/%s/frame_%s.png", dir, passes[p], stem + 5);
            if (is_file(img)) {
                nexp_status st = add_pair(d, cap, img, flow, err);
                if (st != NEXP_OK) {
                    return st;
                }
                found = 1;
            }
        }
        if (found) {
            return NEXP_OK;
        }
    }
    const char *suffixes[3][2] = { { "_flow", "_img1" }, { "-flow_01", "-img_0" }, { "", "" } };
    const char *exts[2] = { ".ppm", ".png" };
    for (int r = 0; r < 3; r++) {
        if (!ends_with(stem, suffixes[r][0])) {
            continue;
        }
        size_t base = strlen(stem) - strlen(suffixes[r][0]);
        for (int e = 0; e < 2; e++) {
            snprintf(img, sizeof img, "%s/%.*s%s%s", dir, (int)base, stem, suffixes[r][1], exts[e]);
            if (is_file(img)) {
                return add_pair(d, cap, img, flow, err);
            }
        }
    }
    return NEXP_OK;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

/* Sorted names of the entries of dir that end with one of the '|'-separated suffixes. When dir cannot
 * be opened: NEXP_ERR_IO with err untouched, for the caller to say what the folder was for. */
static nexp_status list_dir(const char *dir, const char *suffixes, char ***names, size_t *n, nexp_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        return NEXP_ERR_IO;
    }
    size_t cap = 0;
    nexp_status st = NEXP_OK;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        int match = 0;
        for (const char *s = suffixes; *s != '\0' && !match;) {
            size_t len = strcspn(s, "|");
            char suffix[16];
            snprintf(suffix, sizeof suffix, "%.*s", (int)len, s);
            match = ends_with(de->d_name, suffix);
            s += len + (s[len] == '|');
        }
        if (!match) {
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (nn == NULL) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            *names = nn;
        }
        if (((*names)[*n] = strdup(de->d_name)) == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        (*n)++;
    }
    closedir(dp);
    if (st != NEXP_OK) {
        free_names(*names, *n);
        *names = NULL;
        *n = 0;
        return st;
    }
    if (*n > 1) {
        qsort(*names, *n, sizeof **names, cmp_str);
    }
    return NEXP_OK;
}

static nexp_status to_rgb(nexp_field *img, nexp_field **out, nexp_error *err);

/* "photos:DIR" (source): synthetic scenes textured with every PNG/PPM/PGM of DIR at least
 * PHOTO_MIN_SIDE pixels on each side (smaller ones, such as icons, are skipped). */
static nexp_status open_photos(nexp_flowdata **out, const char *source, const char *dir, nexp_error *err)
{
    char **names = NULL;
    size_t nn = 0;
    nexp_status st = list_dir(dir, ".png|.PNG|.ppm|.PPM|.pgm|.PGM", &names, &nn, err);
    if (st == NEXP_ERR_IO) {
        return nexp_error_set(err, NEXP_ERR_IO, "%s: cannot open the photo folder", source);
    }
    if (st == NEXP_OK) {
        st = nexp_flowdata_open_synthetic(out, NULL, err);
    }
    nexp_flowdata *d = *out;
    if (st == NEXP_OK && nn > 0 && (d->photos = calloc(nn, sizeof *d->photos)) == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory loading photos");
    }
    for (size_t i = 0; i < nn && st == NEXP_OK; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        nexp_field *img = NULL;
        if ((st = nexp_field_read(path, &img, err)) != NEXP_OK) {
            break;
        }
        if (img->width >= PHOTO_MIN_SIDE && img->height >= PHOTO_MIN_SIDE) {
            st = to_rgb(img, &d->photos[d->nphotos], err);
            d->nphotos += st == NEXP_OK;
        }
        nexp_field_free(img);
    }
    free_names(names, nn);
    if (st == NEXP_OK && d->nphotos == 0) {
        st = nexp_error_set(err, NEXP_ERR_EMPTY, "%s: no PNG, PPM or PGM image of at least %d x %d pixels", source,
                            PHOTO_MIN_SIDE, PHOTO_MIN_SIDE);
    }
    if (st != NEXP_OK) {
        nexp_flowdata_free(d);
        *out = NULL;
        return st;
    }
    d->scene.photos = (const nexp_field *const *)d->photos;
    d->scene.nphotos = d->nphotos;
    return NEXP_OK;
}

nexp_status nexp_flowdata_open(nexp_flowdata **out, const char *source, nexp_error *err)
{
    *out = NULL;
    if (source == NULL || strcmp(source, "synthetic") == 0) {
        return nexp_flowdata_open_synthetic(out, NULL, err);
    }
    if (strcmp(source, "synthetic-edges") == 0) {
        nexp_scene_options so = NEXP_SCENE_OPTIONS_INIT;
        so.edges = 1;
        return nexp_flowdata_open_synthetic(out, &so, err);
    }
    if (strcmp(source, "synthetic-fast") == 0) {
        nexp_status st = nexp_flowdata_open_synthetic(out, NULL, err);
        if (st == NEXP_OK) {
            (*out)->fast_mix = 1;
        }
        return st;
    }
    if (strncmp(source, "photos:", 7) == 0) {
        return open_photos(out, source, source + 7, err);
    }
    if (strncmp(source, "mixed:", 6) == 0) {
        nexp_status st = open_photos(out, source, source + 6, err);
        if (st == NEXP_OK) {
            (*out)->photo_mix = 1;
        }
        return st;
    }
    char **names = NULL;
    size_t nn = 0;
    nexp_status st = list_dir(source, ".flo", &names, &nn, err);
    if (st == NEXP_ERR_IO) {
        return nexp_error_set(err, NEXP_ERR_IO,
                              "%s: cannot open the data folder (not 'synthetic', 'synthetic-edges', 'synthetic-fast', "
                              "'photos:DIR', 'mixed:DIR' and not a folder)",
                              source);
    }
    nexp_flowdata *d = NULL;
    if (st == NEXP_OK && (d = calloc(1, sizeof *d)) == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory opening a data set");
    }
    if (st == NEXP_OK) {
        size_t cap = 0;
        for (size_t i = 0; i < nn && st == NEXP_OK; i++) {
            st = pair_flo(d, &cap, source, names[i], err);
        }
    }
    free_names(names, nn);
    if (st == NEXP_OK && d->n == 0) {
        st = nexp_error_set(err, NEXP_ERR_EMPTY,
                            "%s: no image + .flo pairs (looked for flow_N.flo with clean/frame_N.png, "
                            "N_flow.flo with N_img1.ppm/png, N-flow_01.flo with N-img_0.png, N.flo with N.png)",
                            source);
    }
    if (st != NEXP_OK) {
        nexp_flowdata_free(d);
        return st;
    }
    *out = d;
    return NEXP_OK;
}

const nexp_scene_options *nexp_flowdata_scene(const nexp_flowdata *d)
{
    return d->synthetic ? &d->scene : NULL;
}

nexp_status nexp_flowdata_set_thin(nexp_flowdata *d, double share, nexp_error *err)
{
    if (!(share >= 0.0 && share <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "thin-bar share %g: must be in [0, 1]", share);
    }
    if (!d->synthetic && share > 0.0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "thin bars need rendered scenes, not a folder of image + .flo pairs");
    }
    d->scene.thin = share;
    return NEXP_OK;
}

size_t nexp_flowdata_count(const nexp_flowdata *d)
{
    return d->synthetic ? 0 : d->n;
}

nexp_status nexp_flowdata_paths(const nexp_flowdata *d, size_t i, const char **image, const char **flow,
                                nexp_error *err)
{
    if (d->synthetic || i >= d->n) {
        return nexp_error_set(err, NEXP_ERR_ARG, "data set pair %zu does not exist (%zu pairs)", i,
                              nexp_flowdata_count(d));
    }
    *image = d->images[i];
    *flow = d->flows[i];
    return NEXP_OK;
}

void nexp_flow_sample_clear(nexp_flow_sample *s)
{
    nexp_field_free(s->image);
    nexp_field_free(s->flow);
    nexp_field_free(s->mask);
    s->image = s->flow = s->mask = NULL;
}

/* Mirror f in place through a copy; channel negate_channel (or -1 for none) changes sign. */
static nexp_status flip_field(nexp_field *f, int horizontal, int vertical, int negate_channel, nexp_error *err)
{
    nexp_field *src = NULL;
    nexp_status st = nexp_field_clone(&src, f, err);
    if (st != NEXP_OK) {
        return st;
    }
    const int w = f->width, h = f->height;
    for (int c = 0; c < f->channels; c++) {
        float sign = c == negate_channel ? -1.0f : 1.0f;
        for (int y = 0; y < h; y++) {
            const float *in = nexp_field_row(src, c, vertical ? h - 1 - y : y);
            float *o = nexp_field_row(f, c, y);
            for (int x = 0; x < w; x++) {
                o[x] = sign * in[horizontal ? w - 1 - x : x];
            }
        }
    }
    if (f->mask != NULL) {
        for (int y = 0; y < h; y++) {
            const uint8_t *in = src->mask + (size_t)(vertical ? h - 1 - y : y) * src->stride;
            uint8_t *o = f->mask + (size_t)y * f->stride;
            for (int x = 0; x < w; x++) {
                o[x] = in[horizontal ? w - 1 - x : x];
            }
        }
    }
    nexp_field_free(src);
    return NEXP_OK;
}

/* The photometric changes of nexp_sample_options.photometric, in place on img (3, H, W) 0..255. */
static nexp_status photometric(nexp_field *img, nexp_rng *rng, nexp_error *err)
{
    const int w = img->width, h = img->height;
    if (nexp_rng_uniform(rng) < 0.8) {
        double contrast = exp(nexp_rng_range(rng, -0.4, 0.4)), bright = nexp_rng_range(rng, -25.0, 25.0);
        double gamma = exp(nexp_rng_range(rng, -0.3, 0.3)), gain[3];
        for (int c = 0; c < 3; c++) {
            gain[c] = exp(nexp_rng_range(rng, -0.1, 0.1));
        }
        for (int c = 0; c < img->channels && c < 3; c++) {
            for (int y = 0; y < h; y++) {
                float *row = nexp_field_row(img, c, y);
                for (int x = 0; x < w; x++) {
                    double v = (row[x] - 127.5) * contrast + 127.5 + bright;
                    v = v <= 0.0 ? 0.0 : 255.0 * pow(fmin(v / 255.0, 1.0), gamma);
                    row[x] = (float)fmin(255.0, v * gain[c]);
                }
            }
        }
    }
    if (nexp_rng_uniform(rng) < 0.3) {
        double sigma = nexp_rng_range(rng, 0.5, 1.5);
        nexp_dct_plan *plan = NULL;
        nexp_status st = nexp_dct_plan_create(&plan, w, h, NEXP_DCT_FLOAT, err);
        if (st == NEXP_OK) {
            st = nexp_dct_gaussian(plan, img, img, sigma, err);
        }
        nexp_dct_plan_free(plan);
        if (st != NEXP_OK) {
            return st;
        }
    }
    if (nexp_rng_uniform(rng) < 0.5) {
        double sd = nexp_rng_range(rng, 0.0, 6.0);
        for (int c = 0; c < img->channels; c++) {
            for (int y = 0; y < h; y++) {
                float *row = nexp_field_row(img, c, y);
                for (int x = 0; x < w; x++) {
                    row[x] += (float)(sd * nexp_rng_normal(rng));
                }
            }
        }
    }
    for (int c = 0; c < img->channels; c++) {
        for (int y = 0; y < h; y++) {
            float *row = nexp_field_row(img, c, y);
            for (int x = 0; x < w; x++) {
                row[x] = row[x] < 0.0f ? 0.0f : (row[x] > 255.0f ? 255.0f : row[x]);
            }
        }
    }
    return NEXP_OK;
}

static nexp_status flip_sample(nexp_flow_sample *s, int horizontal, int vertical, nexp_error *err)
{
    if (!horizontal && !vertical) {
        return NEXP_OK;
    }
    nexp_status st = NEXP_OK;
    if (s->image != NULL && (st = flip_field(s->image, horizontal, vertical, -1, err)) != NEXP_OK) {
        return st;
    }
    if (s->mask != NULL && (st = flip_field(s->mask, horizontal, vertical, -1, err)) != NEXP_OK) {
        return st;
    }
    if (s->flow != NULL) {
        if ((st = flip_field(s->flow, horizontal, vertical, -1, err)) != NEXP_OK) {
            return st;
        }
        for (int c = 0; c < 2; c++) {
            if (c == 0 ? !horizontal : !vertical) {
                continue;
            }
            for (int y = 0; y < s->flow->height; y++) {
                float *row = nexp_field_row(s->flow, c, y);
                for (int x = 0; x < s->flow->width; x++) {
                    row[x] = -row[x];
                }
            }
        }
    }
    return NEXP_OK;
}

nexp_status nexp_flow_sample_flip(nexp_flow_sample *s, int horizontal, int vertical, nexp_error *err)
{
    return flip_sample(s, horizontal, vertical, err);
}

nexp_status nexp_random_mask(const nexp_field *flow, double density, nexp_rng *rng, nexp_field **mask,
                             nexp_error *err)
{
    *mask = NULL;
    if (!(density > 0.0 && density <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mask density %g: must be in (0, 1]", density);
    }
    nexp_field *m = NULL;
    nexp_status st = nexp_field_create(&m, flow->width, flow->height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    m->kind = NEXP_KIND_MASK;
    size_t known = 0, valid = 0;
    for (int y = 0; y < flow->height; y++) {
        float *row = nexp_field_row(m, 0, y);
        for (int x = 0; x < flow->width; x++) {
            double u = nexp_rng_uniform(rng);
            if (nexp_field_valid(flow, x, y)) {
                valid++;
                row[x] = u < density ? 1.0f : 0.0f;
                known += row[x] != 0.0f;
            }
        }
    }
    if (valid == 0) {
        nexp_field_free(m);
        return nexp_error_set(err, NEXP_ERR_EMPTY, "flow has no valid vector to build a mask from");
    }
    if (known == 0) {
        /* one known pixel at a random valid position */
        uint64_t k = nexp_rng_below(rng, valid);
        for (int y = 0; y < flow->height && known == 0; y++) {
            for (int x = 0; x < flow->width; x++) {
                if (nexp_field_valid(flow, x, y) && k-- == 0) {
                    nexp_field_row(m, 0, y)[x] = 1.0f;
                    known = 1;
                    break;
                }
            }
        }
    }
    *mask = m;
    return NEXP_OK;
}

/* The w x h window of f at (x0, y0), copied (with the mask, if any). */
static nexp_status crop_field(const nexp_field *f, int x0, int y0, int w, int h, nexp_field **out, nexp_error *err)
{
    nexp_status st = nexp_field_create(out, w, h, f->channels, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*out)->kind = f->kind;
    (*out)->bit_depth = f->bit_depth;
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < h; y++) {
            memcpy(nexp_field_row(*out, c, y), nexp_field_row(f, c, y0 + y) + x0, (size_t)w * sizeof(float));
        }
    }
    if (f->mask != NULL) {
        if ((st = nexp_field_ensure_mask(*out, err)) != NEXP_OK) {
            nexp_field_free(*out);
            *out = NULL;
            return st;
        }
        for (int y = 0; y < h; y++) {
            memcpy((*out)->mask + (size_t)y * (*out)->stride, f->mask + (size_t)(y0 + y) * f->stride + x0, (size_t)w);
        }
    }
    return NEXP_OK;
}

/* RGB copy of a grey, grey+alpha, RGB or RGBA image. */
static nexp_status to_rgb(nexp_field *img, nexp_field **out, nexp_error *err)
{
    nexp_status st = nexp_field_create(out, img->width, img->height, 3, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*out)->kind = NEXP_KIND_IMAGE;
    (*out)->bit_depth = 8;
    float scale = img->bit_depth == 16 ? 255.0f / 65535.0f : 1.0f;
    for (int c = 0; c < 3; c++) {
        int sc = img->channels >= 3 ? c : 0;
        for (int y = 0; y < img->height; y++) {
            const float *in = nexp_field_row(img, sc, y);
            float *o = nexp_field_row(*out, c, y);
            for (int x = 0; x < img->width; x++) {
                o[x] = scale * in[x];
            }
        }
    }
    return NEXP_OK;
}

nexp_status nexp_flowdata_draw(const nexp_flowdata *d, const nexp_sample_options *opt, nexp_rng *rng,
                               nexp_flow_sample *s, nexp_error *err)
{
    memset(s, 0, sizeof *s);
    if (opt->crop < 8 || !(opt->density_min > 0.0 && opt->density_min <= opt->density_max && opt->density_max <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "sample options: crop %d (>= 8), density %g..%g (0 < min <= max <= 1)",
                              opt->crop, opt->density_min, opt->density_max);
    }
    nexp_status st = NEXP_OK;
    if (d->synthetic) {
        nexp_scene_options so = d->scene;
        so.width = so.height = opt->crop;
        if (d->fast_mix && nexp_rng_uniform(rng) < SYNTH_FAST_SHARE) {
            so.layers = 1 + (int)nexp_rng_below(rng, 4);
            so.max_translation *= 2.0;
            so.layer_size *= 0.5;
        }
        if (d->photo_mix && nexp_rng_uniform(rng) >= PHOTO_MIX_SHARE) {
            so.nphotos = 0;
        }
        nexp_scene *scene = NULL;
        if ((st = nexp_scene_generate(&so, nexp_rng_u64(rng), &scene, err)) != NEXP_OK) {
            return st;
        }
        s->image = scene->frame1;
        s->flow = scene->flow;
        scene->frame1 = scene->flow = NULL;
        nexp_scene_free(scene);
    } else {
        size_t i = (size_t)nexp_rng_below(rng, d->n);
        nexp_field *img = NULL, *flow = NULL;
        if ((st = nexp_field_read(d->images[i], &img, err)) != NEXP_OK ||
            (st = nexp_field_read(d->flows[i], &flow, err)) != NEXP_OK) {
            nexp_field_free(img);
            return st;
        }
        if (img->width != flow->width || img->height != flow->height || flow->channels != 2) {
            st = nexp_error_set(err, NEXP_ERR_SIZE, "%s (%d x %d) and %s (%d x %d, %d channels) do not pair",
                                d->images[i], img->width, img->height, d->flows[i], flow->width, flow->height,
                                flow->channels);
        }
        int cw = opt->crop < img->width ? opt->crop : img->width;
        int ch = opt->crop < img->height ? opt->crop : img->height;
        int x0 = (int)nexp_rng_below(rng, (uint64_t)(img->width - cw + 1));
        int y0 = (int)nexp_rng_below(rng, (uint64_t)(img->height - ch + 1));
        nexp_field *rgb = NULL;
        if (st == NEXP_OK && (st = to_rgb(img, &rgb, err)) == NEXP_OK) {
            if ((st = crop_field(rgb, x0, y0, cw, ch, &s->image, err)) == NEXP_OK) {
                st = crop_field(flow, x0, y0, cw, ch, &s->flow, err);
            }
        }
        nexp_field_free(rgb);
        nexp_field_free(img);
        nexp_field_free(flow);
        if (st != NEXP_OK) {
            nexp_flow_sample_clear(s);
            return st;
        }
    }
    int hflip = 0, vflip = 0;
    if (opt->flips) {
        hflip = nexp_rng_uniform(rng) < 0.5;
        vflip = nexp_rng_uniform(rng) < 0.5;
    }
    s->density = nexp_rng_range(rng, opt->density_min, opt->density_max);
    if ((st = flip_sample(s, hflip, vflip, err)) != NEXP_OK ||
        (st = nexp_random_mask(s->flow, s->density, rng, &s->mask, err)) != NEXP_OK ||
        (opt->photometric && (st = photometric(s->image, rng, err)) != NEXP_OK)) {
        nexp_flow_sample_clear(s);
        return st;
    }
    return NEXP_OK;
}
