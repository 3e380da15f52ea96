/* nexp — command-line front end. Subcommands register themselves (see cli.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_MAX_COMMANDS 64

static const cli_command *commands[CLI_MAX_COMMANDS];
static int n_commands;

void cli_register(const cli_command *cmd)
{
    if (n_commands < CLI_MAX_COMMANDS) {
        commands[n_commands++] = cmd;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const cli_command *const *)a)->name, (*(const cli_command *const *)b)->name);
}

static void print_help(FILE *out)
{
    char mem[32];
    fprintf(out,
            "nexp %s — neuroexplicit models: explicit diffusion and ODE solvers coupled with small\n"
            "neural networks (optical-flow inpainting, neural ODEs, diffusion and ODE simulation).\n\n"
            "Usage: nexp COMMAND [OPTIONS] [ARGS]\n\nCommands:\n",
            nexp_version());
    qsort(commands, (size_t)n_commands, sizeof commands[0], by_name);
    for (int i = 0; i < n_commands; i++) {
        fprintf(out, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(out,
            "\nRun 'nexp COMMAND --help' for a command's options and examples.\n"
            "Field files are read and written by extension: .flo .png .pgm .ppm .pfm .h5\n"
            "Commands refuse inputs and plans needing more than 3/4 of the physical memory (here %s);\n"
            "--max-memory SIZE (512M, 4G, 0: no limit) changes the bound.\n"
            "Exit status: 0 ok, 1 runtime error (message on stderr), 2 usage error; a long run stopped\n"
            "by Ctrl-C after saving its work exits 130.\n",
            nexp_format_size(cli_default_max_memory(), mem, sizeof mem));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("nexp %s\nhot loops: %s, %d threads\n", nexp_version(), nexp_cpu_path(), nexp_get_threads());
        return CLI_EXIT_OK;
    }
    nexp_set_memory_limit(cli_default_max_memory());
    for (int i = 0; i < n_commands; i++) {
        if (strcmp(argv[1], commands[i]->name) == 0) {
            return commands[i]->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "nexp: unknown command '%s'\nTry 'nexp --help'.\n", argv[1]);
    return CLI_EXIT_USAGE;
}
