/* An empty program: make check-layers links each layer's archive whole
 * into it, with only the layers that layer may use (Makefile, LAYERS). */
int main(void);

int main(void)
{
	return 0;
}
