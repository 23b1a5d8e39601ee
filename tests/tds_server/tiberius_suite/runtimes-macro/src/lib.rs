//! `#[test_on_runtimes]` / `#[test_on_runtimes(connection_string = "NAME")]` on an
//! `async fn(tiberius::Client<S>) -> Result<()>`: one `#[test]` per async runtime (`<fn>_tokio`,
//! `<fn>_smol`), each connecting a client with the ADO.NET connection string in the static `NAME`
//! (default `CONN_STR`) and passing it to the function.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, ItemFn, LitStr};

#[proc_macro_attribute]
pub fn test_on_runtimes(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut connection_string = format_ident!("CONN_STR");
    let arguments = syn::meta::parser(|meta| {
        if meta.path.is_ident("connection_string") {
            let name: LitStr = meta.value()?.parse()?;
            connection_string = format_ident!("{}", name.value());
            Ok(())
        } else {
            Err(meta.error("expected `connection_string = \"NAME\"`"))
        }
    });
    parse_macro_input!(attr with arguments);
    let function = parse_macro_input!(item as ItemFn);
    let name = &function.sig.ident;
    let on_tokio = format_ident!("{name}_tokio");
    let on_smol = format_ident!("{name}_smol");
    quote! {
        #function

        #[test]
        fn #on_tokio() -> tiberius::Result<()> {
            tokio::runtime::Runtime::new()?.block_on(async {
                let config = tiberius::Config::from_ado_string(&#connection_string)?;
                let tcp = tokio::net::TcpStream::connect(config.get_addr()).await?;
                tcp.set_nodelay(true)?;
                let tcp = tokio_util::compat::TokioAsyncWriteCompatExt::compat_write(tcp);
                #name(tiberius::Client::connect(config, tcp).await?).await
            })
        }

        #[test]
        fn #on_smol() -> tiberius::Result<()> {
            smol::block_on(async {
                let config = tiberius::Config::from_ado_string(&#connection_string)?;
                let tcp = smol::net::TcpStream::connect(config.get_addr()).await?;
                tcp.set_nodelay(true)?;
                #name(tiberius::Client::connect(config, tcp).await?).await
            })
        }
    }
    .into()
}
